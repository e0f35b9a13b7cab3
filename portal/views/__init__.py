"""One blueprint per page area; what several of them share (a view module never imports another)."""
from urllib.parse import urlsplit

from flask import redirect, render_template, request, url_for
from flask_login import current_user

from portal.connections.accounts import my_account
from portal.connections.credentials import client_for_account


def safe_next(default_endpoint: str = "dashboard.index") -> str:
    """A same-site relative redirect target from ?next= or the form, else the default."""
    target = request.values.get("next") or ""
    parts = urlsplit(target)
    if target.startswith("/") and not target.startswith("//") and not parts.scheme and not parts.netloc:
        return target
    return url_for(default_endpoint)


def procore_for(folder):
    """((account, client), None) for the signed-in user to import into or export from `folder`, or
    (None, answer) explaining what is missing: R32 on the portal side (a 403 page), or no Procore account
    (the connect flow, which comes back here)."""
    from portal.sync import service

    try:
        service.check_portal_side(current_user, folder)
    except service.NotAllowed as refused:
        return None, (render_template("integrations/refused.html", reason=str(refused), folder=folder), 403)
    account = my_account(current_user)
    if account is None or current_user.company.procore_company_id is None:
        return None, redirect(url_for("procore.connect", next=request.full_path))
    return (account, client_for_account(account)), None
