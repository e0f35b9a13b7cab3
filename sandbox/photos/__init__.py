"""Sandbox Photos tool: albums (image categories), images, media helpers and their seed."""
