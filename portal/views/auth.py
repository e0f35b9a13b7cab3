"""Sign in, sign out and the language switch (RELIABILITY 25, 26)."""
from __future__ import annotations

from datetime import datetime, timezone

from flask import Blueprint, current_app, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_user, logout_user

from portal.access import login_required, public
from portal.accounts import find_user_by_email, normalize_email
from portal.extensions import db, limiter
from portal.forms import EmptyForm, LoginForm
from portal.views import safe_next

bp = Blueprint("auth", __name__)


def _account_key() -> str:
    return "login-account:" + normalize_email(request.form.get("email", ""))


def _failed(response) -> bool:
    """Only failed sign-ins count against the limits."""
    return response.status_code != 302


@bp.route("/login", methods=["GET", "POST"])
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_IP"], methods=["POST"], deduct_when=_failed)
@limiter.limit(lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"], methods=["POST"],
               key_func=_account_key, deduct_when=_failed)
@public
def login():
    if current_user.is_authenticated:
        return redirect(url_for("dashboard.index"))
    form = LoginForm()
    if form.validate_on_submit():
        user = find_user_by_email(form.email.data)
        # verify_password spends the same time whether or not the account exists.
        ok = user.check_password(form.password.data) if user else _no_account(form.password.data)
        if ok and user.is_active:
            lang = session.get("lang")
            session.clear()  # a fresh session at sign-in (RELIABILITY 25)
            if lang:
                session["lang"] = lang
            login_user(user)
            user.last_login_at = datetime.now(timezone.utc)
            db.session.commit()
            return redirect(safe_next())
        form.password.errors.append(_("Incorrect email or password."))
        return render_template("auth/login.html", form=form), 401
    status = 400 if request.method == "POST" else 200
    return render_template("auth/login.html", form=form), status


def _no_account(password: str) -> bool:
    from portal.security import verify_password

    return verify_password(None, password)


@bp.route("/logout", methods=["POST"])
@login_required
def logout():
    form = EmptyForm()
    if not form.validate_on_submit():
        return redirect(url_for("dashboard.index"))
    current_user.rotate_session_token()  # every copy of the old cookie stops working
    db.session.commit()
    lang = session.get("lang")
    logout_user()
    session.clear()
    if lang:
        session["lang"] = lang
    flash(_("You have signed out."), "info")
    return redirect(url_for("auth.login"))


@bp.route("/language", methods=["POST"])
@public
def set_language():
    form = EmptyForm()
    lang = request.form.get("lang", "")
    if form.validate_on_submit() and lang in current_app.config["LANGUAGES"]:
        session["lang"] = lang
    return redirect(safe_next())
