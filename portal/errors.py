"""Friendly error pages, with an htmx fragment variant (issue 2)."""
from __future__ import annotations

import logging

from flask import render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

log = logging.getLogger(__name__)


def _messages() -> dict:
    return {
        400: (_("Bad request"), _("The request could not be understood. Check the form and try again.")),
        403: (_("Not allowed"), _("Your account does not have permission to see this page.")),
        404: (_("Not found"), _("The page or item does not exist, or it belongs to another company.")),
        405: (_("Not allowed"), _("This action is not available here.")),
        413: (_("Too large"), _("The upload is larger than allowed.")),
        429: (_("Too many attempts"), _("Too many attempts. Wait a minute and try again.")),
        500: (_("Something went wrong"), _("An unexpected error occurred. It has been logged; try again in a moment.")),
    }


def render_error(status: int, title: str | None = None, message: str | None = None):
    default_title, default_message = _messages().get(status, _messages()[500])
    context = {"status": status, "title": title or default_title, "message": message or default_message}
    if request.htmx:
        return render_template("errors/_error.html", **context), status
    return render_template("errors/error.html", **context), status


def register(app) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(error):
        return render_error(
            400,
            _("Session expired"),
            _("Your session expired or the form is out of date. Reload the page and try again."),
        )

    @app.errorhandler(HTTPException)
    def http_error(error: HTTPException):
        if error.code is None or error.code < 400:
            return error
        return render_error(error.code, message=getattr(error, "friendly", None))

    @app.errorhandler(Exception)
    def unexpected(error: Exception):
        log.exception("Unhandled error on %s %s", request.method, request.path)
        return render_error(500)
