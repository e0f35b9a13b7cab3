"""Connecting and disconnecting Procore accounts. Functions flush; views commit."""
from __future__ import annotations

import logging
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from flask import current_app
from sqlalchemy import select

from portal import db_boundary, redis_conn
from portal.connections import crypto
from portal.connections.credentials import client_for, load_pair, store_pair
from portal.connections.oauth_flow import FlowError
from portal.extensions import db
from portal.models import AccountStatus, Company, ProcoreAccount, User
from portal.procore import (InMemoryCredential, ProcoreAuthError, ProcoreBadResponse, ProcoreError,
                            ProcoreOAuth, ProcorePermissionError, ProcoreUnavailable, TokenPair)
from portal.sync.reasons import REVOCATION_UNCONFIRMED

log = logging.getLogger(__name__)
PENDING_TTL = 600


@dataclass(frozen=True)
class Identity:
    """Who signed in to Procore, and the companies where they may connect (R1, R2)."""

    user_id: int
    login: str
    name: str
    companies: tuple[tuple[int, str], ...]  # all companies of the user
    admin_companies: tuple[tuple[int, str], ...]  # those with Admin on the company Directory tool


def identify(pair: TokenPair) -> Identity:
    """Read /me, /companies and each company's permissions with the fresh token."""
    client = client_for(InMemoryCredential("pending:" + secrets.token_hex(8), pair))
    try:
        me = client.me()
        companies = [c for c in client.companies() if getattr(c, "is_active", True)]
        admin = []
        for company in companies:
            try:
                if client.permissions(company.id).is_admin("directory"):
                    admin.append((company.id, company.name))
            except ProcorePermissionError:
                continue
    except ProcoreUnavailable as error:
        raise FlowError("procore_down", 503) from error
    except (ProcoreBadResponse, ProcoreAuthError) as error:
        raise FlowError("procore_garbage", 502, type(error).__name__) from error
    except ProcoreError as error:
        raise FlowError("procore_refused", 502, type(error).__name__) from error
    return Identity(me.id, me.login, me.name or "", tuple((c.id, c.name) for c in companies), tuple(admin))


def save_pending(pair: TokenPair, identity: Identity, flow: dict) -> str:
    """Keep a connection waiting for the company choice: encrypted, in Redis, 10 minutes."""
    key = secrets.token_urlsafe(24)
    blob = crypto.encrypt_json({"pair": pair.to_dict(), "identity": identity.__dict__, "flow": flow})
    redis_conn.connection().set(f"procore:pending:{key}", blob, ex=PENDING_TTL)
    return key


def load_pending(key: str | None, consume: bool = False) -> tuple[TokenPair, Identity, dict] | None:
    if not key:
        return None
    redis = redis_conn.connection()
    name = f"procore:pending:{key}"
    blob = redis.getdel(name) if consume else redis.get(name)
    if blob is None:
        return None
    data = crypto.decrypt_json(blob.decode() if isinstance(blob, bytes) else blob)
    ident = data["identity"]
    identity = Identity(ident["user_id"], ident["login"], ident["name"],
                        tuple(tuple(c) for c in ident["companies"]),
                        tuple(tuple(c) for c in ident["admin_companies"]))
    return TokenPair.from_dict(data["pair"]), identity, data["flow"]


class ConnectRefused(Exception):
    def __init__(self, kind: str, **details):
        super().__init__(kind)
        self.kind, self.details = kind, details


def check_company_choice(user: User, identity: Identity, procore_company_id: int) -> str:
    """Validate the chosen Procore company against R1 and the portal's existing link."""
    names = dict(identity.companies)
    if procore_company_id not in names:
        raise ConnectRefused("not_member", company=str(procore_company_id))
    if procore_company_id not in dict(identity.admin_companies):
        raise ConnectRefused("not_directory_admin", company=names[procore_company_id])
    company = db.session.get(Company, user.company_id)
    if company.procore_company_id and company.procore_company_id != procore_company_id:
        raise ConnectRefused("other_company", linked=company.procore_company_name or str(company.procore_company_id),
                             chosen=names[procore_company_id])
    return names[procore_company_id]


def save_account(user: User, pair: TokenPair, identity: Identity, procore_company_id: int,
                 reconnect_account_id: int | None = None) -> ProcoreAccount:
    """Create or refresh the account row and link the portal company (R2). Flushes."""
    company_name = check_company_choice(user, identity, procore_company_id)
    if reconnect_account_id is not None:
        account = db.session.get(ProcoreAccount, reconnect_account_id)
        if account is None or account.company_id != user.company_id:
            raise ConnectRefused("account_gone")
        if account.procore_user_id != identity.user_id:
            raise ConnectRefused("different_user", expected=account.procore_login, got=identity.login)
    else:
        account = db.session.scalar(select(ProcoreAccount).where(
            ProcoreAccount.user_id == user.id, ProcoreAccount.procore_user_id == identity.user_id))
    if account is None:
        account = ProcoreAccount(company_id=user.company_id, user_id=user.id, procore_user_id=identity.user_id)
        db.session.add(account)
    account.procore_login, account.procore_name = identity.login, identity.name
    account.procore_company_id = procore_company_id
    account.status, account.last_error, account.last_error_at = AccountStatus.VALID, None, None
    store_pair(account, pair)
    company = db.session.get(Company, user.company_id)
    if company.procore_company_id is None:
        company.procore_company_id, company.procore_company_name = procore_company_id, company_name
    db.session.flush()
    return account


def disconnect(account: ProcoreAccount) -> bool:
    """Revoke at Procore (both tokens of the grant), then erase ours. True if Procore confirmed."""
    confirmed = False
    try:
        pair = load_pair(account)
    except (ProcoreAuthError, crypto.TokenCipherError):
        pair = None
    if pair is not None:
        config = current_app.config
        oauth = ProcoreOAuth(config["PROCORE_LOGIN_URL"], config["PROCORE_CLIENT_ID"],
                             config["PROCORE_CLIENT_SECRET"])
        try:
            db_boundary.before_network_call("POST /oauth/revoke")
            oauth.revoke(pair.refresh_token or pair.access_token)
            confirmed = True
        except ProcoreError as error:
            log.warning("Procore revoke failed for account %s: %s", account.id, type(error).__name__)
    account.access_token_enc = account.refresh_token_enc = None
    account.expires_at = None
    account.status = AccountStatus.REVOKED
    account.last_error = None if confirmed else REVOCATION_UNCONFIRMED
    account.last_error_at = datetime.now(timezone.utc)
    db.session.flush()
    return confirmed


def rotate_keys() -> int:
    """Re-encrypt every stored token with the newest key (RELIABILITY 18). Flushes."""
    count = 0
    for account in db.session.scalars(select(ProcoreAccount)):
        account.access_token_enc = crypto.rotate(account.access_token_enc)
        account.refresh_token_enc = crypto.rotate(account.refresh_token_enc)
        count += 1
    db.session.flush()
    return count
