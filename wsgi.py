"""WSGI entry point: `gunicorn wsgi:app` (also what `make run` serves)."""
from portal.startup import start_app

app = start_app()
