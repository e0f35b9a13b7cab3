"""OAuth 2.0 like login.procore.com: authorize (HTML consent), token, revoke, token/info.

* Codes: single use, expire after ``auth_code_lifetime`` (600 s). Re-using a code also
  revokes the grant issued with it (RFC 6749 4.1.2 "SHOULD"; stricter reading).
* Refresh tokens rotate and are single use; the old ACCESS token of the grant dies as
  soon as its refresh token is used (stricter, unverified; see api.lookup_token).
  Counters: ``tokens_refreshed`` (refresh grants answered) and ``refresh_token_reused``
  (a refresh token presented again after it was used: answered ``invalid_grant``).
* client_credentials: the client's Developer Managed Service Account; no refresh token.
* Every token records its client_id (used as metadata.source_application_id).
"""
from __future__ import annotations

import base64
import re
import secrets
from urllib.parse import urlencode, urlsplit, urlunsplit, parse_qsl

from flask import Blueprint, jsonify, redirect, render_template, request
from sqlalchemy import select

from . import clock
from .api import lookup_token
from .db import current_session
from .models import AuthCode, Token, User
from .state import cfg, state

bp = Blueprint("oauth", __name__)

OOB = "urn:ietf:wg:oauth:2.0:oob"
_LOOPBACK = re.compile(r"^http://(127\.0\.0\.1|localhost)(:\d{1,5})?/procore/callback$")


def client(client_id: str | None) -> dict | None:
    for c in cfg("oauth_clients"):
        if c["client_id"] == client_id:
            return c
    return None


def redirect_allowed(c: dict, uri: str | None) -> bool:
    if not uri:
        return False
    if uri == OOB or uri in c.get("redirect_uris", []) or uri in cfg("oauth_extra_redirect_uris"):
        return True
    return bool(cfg("oauth_allow_loopback_redirects") and _LOOPBACK.match(uri))


def _with_params(uri: str, params: dict) -> str:
    parts = urlsplit(uri)
    q = parse_qsl(parts.query, keep_blank_values=True) + [(k, v) for k, v in params.items() if v is not None]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(q), parts.fragment))


def _oauth_error(status: int, error: str, description: str):
    resp = jsonify({"error": error, "error_description": description})
    resp.status_code = status
    resp.headers["Cache-Control"] = "no-store"
    return resp


def issue_token(s, client_id: str, user: User, grant_type: str, previous_id: int | None = None) -> Token:
    now = clock.now()
    tok = Token(access_token=secrets.token_urlsafe(32),
                refresh_token=None if grant_type == "client_credentials" else secrets.token_urlsafe(32),
                client_id=client_id, user_id=user.id, grant_type=grant_type, created_at=now,
                expires_at=now + cfg("token_lifetime"), previous_id=previous_id)
    s.add(tok)
    s.flush()
    state().stats.incr("tokens_issued")
    return tok


def token_json(tok: Token) -> dict:
    out = {"access_token": tok.access_token, "token_type": "bearer",
           "expires_in": int(round(tok.expires_at - tok.created_at)),
           "created_at": int(tok.created_at)}
    if tok.refresh_token:
        out["refresh_token"] = tok.refresh_token
    return out


# --- authorize ----------------------------------------------------------------

def _authorize_params(src) -> dict:
    return {k: src.get(k) for k in ("response_type", "client_id", "redirect_uri", "state")}


@bp.route("/oauth/authorize", methods=["GET", "POST"])
def authorize():
    src = request.args if request.method == "GET" else request.form
    p = _authorize_params(src)
    c = client(p["client_id"])
    if c is None:
        return render_template("sandbox_oauth_error.html", message="Unknown client_id."), 400
    if not redirect_allowed(c, p["redirect_uri"]):
        return render_template("sandbox_oauth_error.html",
                               message="The redirect_uri is not registered for this application."), 400
    if p["response_type"] != "code":
        return redirect(_with_params(p["redirect_uri"], {"error": "unsupported_response_type",
                                                         "state": p["state"]}))
    s = current_session()
    users = list(s.scalars(select(User).where(User.is_active.is_(True), User.service_client_id.is_(None))
                           .order_by(User.login)))
    if request.method == "GET":
        return render_template("sandbox_oauth_authorize.html", client=c, params=p, users=users)
    if src.get("decision") != "approve":
        return redirect(_with_params(p["redirect_uri"], {
            "error": "access_denied", "state": p["state"],
            "error_description": "The resource owner denied the request."}))
    user = None
    if str(src.get("user_id") or "").isdigit():
        user = s.get(User, int(src["user_id"]))
    elif src.get("login"):
        user = s.scalars(select(User).where(User.login == src["login"])).first()
    if user is None or user.service_client_id is not None or not user.is_active:
        return render_template("sandbox_oauth_authorize.html", client=c, params=p, users=users,
                               error="Choose a user to sign in as."), 400
    now = clock.now()
    code = AuthCode(code=secrets.token_urlsafe(24), client_id=c["client_id"], user_id=user.id,
                    redirect_uri=p["redirect_uri"], created_at=now, expires_at=now + cfg("auth_code_lifetime"))
    s.add(code)
    if p["redirect_uri"] == OOB:
        return render_template("sandbox_oauth_oob.html", code=code.code)
    return redirect(_with_params(p["redirect_uri"], {"code": code.code, "state": p["state"]}))


# --- token --------------------------------------------------------------------

def _form() -> dict:
    if request.is_json:
        data = request.get_json(silent=True)
        return data if isinstance(data, dict) else {}
    return request.form.to_dict()


def _client_auth(data: dict) -> tuple[dict | None, str | None]:
    cid, secret = data.get("client_id"), data.get("client_secret")
    h = request.headers.get("Authorization", "")
    if h.lower().startswith("basic ") and not cid:
        try:
            cid, secret = base64.b64decode(h[6:]).decode().split(":", 1)
        except Exception:
            return None, None
    c = client(cid)
    if c is None or not secret or not secrets.compare_digest(str(secret), c["client_secret"]):
        return None, cid
    return c, cid


@bp.post("/oauth/token")
def token():
    state().stats.incr("oauth_requests")
    data = _form()
    grant = data.get("grant_type")
    if grant not in ("authorization_code", "refresh_token", "client_credentials"):
        return _oauth_error(400, "unsupported_grant_type", "The authorization grant type is not supported.")
    c, _cid = _client_auth(data)
    if c is None:
        return _oauth_error(401, "invalid_client", "Client authentication failed.")
    s = current_session()
    now = clock.now()
    if grant == "authorization_code":
        code = s.scalars(select(AuthCode).where(AuthCode.code == str(data.get("code") or ""))).first()
        if code is None or code.client_id != c["client_id"]:
            return _oauth_error(400, "invalid_grant", "The authorization code is invalid.")
        if code.used_at is not None:
            if code.token_id:  # replayed code: revoke what it issued
                prev = s.get(Token, code.token_id)
                if prev is not None and prev.revoked_at is None:
                    prev.revoked_at = now
            s.commit()
            return _oauth_error(400, "invalid_grant", "The authorization code was already used.")
        if code.expires_at <= now:
            return _oauth_error(400, "invalid_grant", "The authorization code has expired.")
        if data.get("redirect_uri") != code.redirect_uri:
            return _oauth_error(400, "invalid_grant", "The redirect_uri does not match the authorization request.")
        code.used_at = now
        tok = issue_token(s, c["client_id"], s.get(User, code.user_id), grant)
        code.token_id = tok.id
    elif grant == "refresh_token":
        old = s.scalars(select(Token).where(Token.refresh_token == str(data.get("refresh_token") or ""))).first()
        if old is not None and old.refreshed_at is not None:
            # A client presenting a refresh token a second time lost the pair the first use returned.
            state().stats.incr("refresh_token_reused")
        if old is None or old.client_id != c["client_id"] or old.revoked_at is not None \
                or old.refreshed_at is not None:
            return _oauth_error(400, "invalid_grant", "The refresh token is invalid, revoked or already used.")
        user = s.get(User, old.user_id)
        if user is None or not user.is_active:
            return _oauth_error(400, "invalid_grant", "The resource owner is inactive.")
        old.refreshed_at = now
        tok = issue_token(s, c["client_id"], user, grant, previous_id=old.id)
        state().stats.incr("tokens_refreshed")
    else:
        login = c.get("service_account")
        user = s.scalars(select(User).where(User.login == login)).first() if login else None
        if user is None:
            return _oauth_error(400, "unauthorized_client", "This client has no service account.")
        tok = issue_token(s, c["client_id"], user, grant)
    resp = jsonify(token_json(tok))
    resp.headers["Cache-Control"] = "no-store"
    resp.headers["Pragma"] = "no-cache"
    return resp


@bp.post("/oauth/revoke")
def revoke():
    """Revokes BOTH tokens of the grant; 200 even for unknown tokens."""
    state().stats.incr("oauth_requests")
    data = _form()
    c, _cid = _client_auth(data)
    if c is None:
        return _oauth_error(401, "invalid_client", "Client authentication failed.")
    raw = str(data.get("token") or "")
    s = current_session()
    tok = s.scalars(select(Token).where((Token.access_token == raw) | (Token.refresh_token == raw))).first()
    if tok is not None and tok.client_id == c["client_id"] and tok.revoked_at is None:
        tok.revoked_at = clock.now()
        state().stats.incr("tokens_revoked")
    return jsonify({})


@bp.get("/oauth/token/info")
def token_info():
    h = request.headers.get("Authorization", "")
    tok = lookup_token(h[7:].strip() if h[:7].lower() == "bearer " else None)
    if tok is None:
        resp = _oauth_error(401, "invalid_token", "The access token is invalid.")
        resp.headers["WWW-Authenticate"] = 'Bearer realm="Doorkeeper", error="invalid_token"'
        return resp
    return jsonify({"resource_owner_id": tok.user_id, "scopes": [],
                    "expires_in_seconds": max(0, int(tok.expires_at - clock.now())),
                    "application": {"uid": tok.client_id}, "created_at": int(tok.created_at)})
