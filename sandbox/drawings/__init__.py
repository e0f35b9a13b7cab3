"""Sandbox Drawings tool: areas, disciplines, sets, drawings, revisions, uploads and their seed."""
