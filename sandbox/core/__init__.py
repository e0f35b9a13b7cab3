"""Sandbox core: app factory, API helpers, DB, shared models, clock, config/state, control API, OAuth,
storage, uploads, seeding."""
