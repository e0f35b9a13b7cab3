"""Local stand-in for the Procore REST API (see sandbox/README.md)."""
from .core.app import create_app  # noqa: F401

__all__ = ["create_app"]
