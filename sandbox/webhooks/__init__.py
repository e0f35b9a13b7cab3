"""Sandbox Webhooks tool: hooks, triggers, the outbound dispatcher, control routes and their seed."""
