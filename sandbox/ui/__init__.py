"""Sandbox web UI under /ui/: the shared pages (routes.py) and one module per tool tab."""
