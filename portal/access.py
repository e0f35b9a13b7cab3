"""Route access declarations (RELIABILITY 23, 28).

Every view is declared with exactly one of `public`, `login_required` or `roles_required`.
The decorator records the declaration on the function so a test can walk `app.url_map`
and fail on any undeclared route. Tenant scoping helpers live here too: an object of
another company is answered with 404, never 403, so ids cannot be probed.
"""
from __future__ import annotations

from functools import wraps

from flask import abort, request
from flask_login import current_user

from portal.extensions import login_manager
from portal.models import Role

READ_METHODS = {"GET", "HEAD", "OPTIONS"}


def _declare(view, kind: str, roles: tuple = (), read_only_roles: tuple = ()):
    view.access = kind
    view.access_roles = roles
    view.access_read_only_roles = read_only_roles
    return view


def public(view):
    """Anyone, signed in or not."""
    return _declare(view, "public")


def login_required(view):
    """Any signed-in, active user."""

    @wraps(view)
    def wrapped(*args, **kwargs):
        if not current_user.is_authenticated:
            return login_manager.unauthorized()
        return view(*args, **kwargs)

    return _declare(wrapped, "login")


def roles_required(*roles: Role, read_only: tuple[Role, ...] = ()):
    """Signed-in users with one of `roles`; `read_only` roles may only GET/HEAD."""

    def decorator(view):
        @wraps(view)
        def wrapped(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role in roles:
                return view(*args, **kwargs)
            if current_user.role in read_only and request.method in READ_METHODS:
                return view(*args, **kwargs)
            abort(403)

        return _declare(wrapped, "role", tuple(roles), tuple(read_only))

    return decorator


def can_write(user) -> bool:
    """Support staff are read-only everywhere (SPEC "Who uses it")."""
    return user.is_authenticated and user.role in (Role.ADMIN, Role.SUPERADMIN)


def company_scope_id(user) -> int | None:
    """The company a user is confined to, or None for cross-company roles."""
    if user.role in (Role.ADMIN, Role.MEMBER):
        return user.company_id
    return None


def get_scoped_or_404(model, object_id: int, company_attr: str = "company_id"):
    """Load `model` by id, 404 when missing or outside the current user's company."""
    from portal.extensions import db

    obj = db.session.get(model, object_id)
    if obj is None:
        abort(404)
    scope = company_scope_id(current_user)
    if scope is not None and getattr(obj, company_attr) != scope:
        abort(404)
    return obj
