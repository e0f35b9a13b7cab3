"""Per-hook secrets: created, looked up by hash, compared in constant time, rotated.

Procore does not sign deliveries; the only proof is the Authorization header we choose
per hook (procore-api.md §6). We send `Bearer <secret>` and keep a SHA-256 of the secret
for lookup plus the Fernet ciphertext (a health check compares the last 5 characters
with Procore's masked copy). A secret is never logged.
"""
from __future__ import annotations

import hashlib
import hmac
import secrets as pysecrets
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from sqlalchemy import bindparam, or_, select, update

from portal.connections import crypto
from portal.extensions import db
from portal.models import Company, WebhookSecret

# Deliveries queued at Procore before a rotation may still carry the old header.
GRACE = timedelta(hours=1)
SCHEME = "Bearer "

# Built once: the receiver runs it on every delivery, and a statement object reused keeps its
# cache key, so SQLAlchemy neither rebuilds nor recompiles it (RELIABILITY 6).
_secrets, _companies = WebhookSecret.__table__, Company.__table__
_LOOKUP = (select(_secrets.c.id, _secrets.c.company_id, _secrets.c.procore_project_id,
                  _companies.c.procore_company_id, _secrets.c.secret_hash)
           .join(_companies, _companies.c.id == _secrets.c.company_id)
           .where(_secrets.c.secret_hash == bindparam("wanted"),
                  or_(_secrets.c.retired_at.is_(None), _secrets.c.retired_at > bindparam("cutoff"))))


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def header_value(secret: str) -> str:
    return SCHEME + secret


def presented_secret(authorization: str | None) -> str | None:
    if not authorization:
        return None
    value = authorization.strip()
    if value[:len(SCHEME)].lower() == SCHEME.lower():
        value = value[len(SCHEME):].strip()
    return value or None


@dataclass(frozen=True)
class Caller:
    """Who a valid secret says is calling: what the receiver needs, read in one query."""

    secret_id: int
    company_id: int
    procore_project_id: int
    procore_company_id: int | None


def authenticate(authorization: str | None) -> Caller | None:
    """The hook matching the header, or None (answer 401).

    One indexed query (unique secret_hash, joined to the company) returning plain
    columns: the receiver runs it on every delivery (RELIABILITY 6), so no ORM objects.
    Secrets are not cached in memory: a rotation or retirement takes effect at once.
    """
    secret = presented_secret(authorization)
    if secret is None or len(secret) > 200:
        return None
    wanted = digest(secret)
    row = db.session.execute(_LOOKUP, {"wanted": wanted, "cutoff": datetime.now(timezone.utc) - GRACE}).first()
    # The index lookup finds the row; the final comparison is constant-time anyway.
    if row is None or not hmac.compare_digest(row.secret_hash, wanted):
        return None
    return Caller(row.id, row.company_id, row.procore_project_id, row.procore_company_id)


def create(company_id: int, procore_project_id: int) -> tuple[WebhookSecret, str]:
    """A new high-entropy secret (256 bits). Flushes; returns (row, plain secret)."""
    plain = pysecrets.token_urlsafe(32)
    row = WebhookSecret(company_id=company_id, procore_project_id=procore_project_id,
                        secret_hash=digest(plain), secret_enc=crypto.encrypt(plain))
    db.session.add(row)
    db.session.flush()
    return row, plain


def current(company_id: int, procore_project_id: int) -> WebhookSecret | None:
    return db.session.scalar(
        select(WebhookSecret)
        .where(WebhookSecret.company_id == company_id, WebhookSecret.procore_project_id == procore_project_id,
               WebhookSecret.retired_at.is_(None), WebhookSecret.procore_hook_id.is_not(None))
        .order_by(WebhookSecret.id.desc()))


def retire_others(keep: WebhookSecret) -> None:
    """After a rotation, older secrets of the project stop being accepted once GRACE passes."""
    db.session.execute(
        update(WebhookSecret)
        .where(WebhookSecret.company_id == keep.company_id,
               WebhookSecret.procore_project_id == keep.procore_project_id,
               WebhookSecret.id != keep.id, WebhookSecret.retired_at.is_(None))
        .values(retired_at=datetime.now(timezone.utc)))


def tail_matches(row: WebhookSecret | None, masked: str | None) -> bool:
    """Procore masks destination_headers to the last 5 characters: compare those."""
    if row is None or not masked:
        return False
    ours = header_value(crypto.decrypt(row.secret_enc))
    return hmac.compare_digest(ours[-5:], masked[-5:])
