"""Alerts for a company's admins (issue 14): a Procore authorization lost, a project's webhook no longer
healthy, a sync run failed, a refresh that repaired what webhook events had not brought, a large deletion
that waits for an admin's confirmation (R7).

`raise_alert()` adds the alert to the session of the code that records the fact (a run's end, a hook
check, an account marked for a new login), so both commit together. The header shows a company's recent
alerts. The periodic job "alerts-mail" (portal/periodic.py, every ALERT_MAIL_EVERY s) mails them:
immediately to each admin who keeps that kind switched on, and once a day after ALERT_DIGEST_HOUR
(UTC) a digest of the day's alerts to each admin who wants one. The job reads and marks rows in short
transactions and talks to the SMTP server with none open. Without SMTP_HOST nothing is mailed and
nothing is marked: the alerts wait, visible in the portal.
"""
from __future__ import annotations

import logging
import smtplib
import ssl
from datetime import datetime, timedelta, timezone
from email.message import EmailMessage

from flask import current_app, render_template
from flask_babel import force_locale, gettext as _, ngettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Alert, Role, SyncItem, User
from portal.models.integrations import REFRESH, ItemStatus, RunStatus

log = logging.getLogger(__name__)

KINDS = {
    "auth_lost": _l("A Procore authorization was lost"),
    "hook_unhealthy": _l("A project's webhook is no longer healthy"),
    "run_failed": _l("A sync run failed"),
    "drift_repaired": _l("A refresh repaired items that webhook events had not brought"),
    "deletion_awaiting": _l("A large deletion waits for an admin's confirmation"),
}
HEADER_DAYS = 7  # the header counts the company's alerts of the last week
BATCH = 100  # alerts mailed per job run at most


def raise_alert(company_id: int, kind: str, subject: str, link: str = "", **params) -> Alert:
    """Record an alert in the caller's session (it commits with the fact it reports)."""
    if kind not in KINDS:
        raise ValueError(f"unknown alert kind {kind!r}")
    alert = Alert(company_id=company_id, kind=kind, subject=(subject or "")[:300], link=link[:500],
                  params=params or None)
    db.session.add(alert)
    return alert


def label(kind: str) -> str:
    return str(KINDS.get(kind, kind))


def detail(alert: Alert) -> str | None:
    """One sentence on what happened, in the current language (the params keep codes, not sentences)."""
    params = alert.params or {}
    if alert.kind == "hook_unhealthy" and params.get("state"):
        from portal.webhooks import states

        return str(states.label(params["state"]))
    if alert.kind == "run_failed":
        from portal.sync.reasons import describe_run_error

        return describe_run_error(params.get("error"))[0]
    if alert.kind == "drift_repaired" and params.get("repaired"):
        return ngettext("%(num)d item repaired.", "%(num)d items repaired.", int(params["repaired"]))
    if alert.kind == "deletion_awaiting" and params.get("items"):
        return ngettext("%(num)d item would be deleted from cBox; nothing is deleted until an admin confirms it "
                        "on the integration's page.",
                        "%(num)d items would be deleted from cBox; nothing is deleted until an admin confirms it "
                        "on the integration's page.", int(params["items"]))
    if alert.kind == "auth_lost" and params.get("login"):
        return _("%(login)s must sign in to Procore again.", login=params["login"])
    return None


def settings_of(user: User) -> dict:
    """The user's choices with the defaults filled in: every kind immediate, and the daily digest, on."""
    stored = user.alert_settings or {}
    immediate = {kind: bool((stored.get("immediate") or {}).get(kind, True)) for kind in KINDS}
    return {"immediate": immediate, "digest": bool(stored.get("digest", True))}


def recent(company_id: int, days: int = HEADER_DAYS, limit: int = 50) -> list[Alert]:
    since = datetime.now(timezone.utc) - timedelta(days=days)
    return db.session.scalars(select(Alert).where(Alert.company_id == company_id, Alert.created_at >= since)
                              .order_by(Alert.id.desc()).limit(limit)).all()


def recent_count(company_id: int, days: int = HEADER_DAYS) -> int:
    since = datetime.now(timezone.utc) - timedelta(days=days)
    return db.session.scalar(select(func.count()).select_from(Alert).where(
        Alert.company_id == company_id, Alert.created_at >= since)) or 0


def run_ended(run) -> None:
    """A run's end, as its admins hear of it: a failure, or a refresh that repaired drift (in the run's
    session, before its final commit)."""
    integration = run.integration
    subject = integration.procore_project_name or str(integration.procore_project_id)
    link = f"/integrations/{integration.id}/runs/{run.id}"
    if run.status == RunStatus.FAILED:
        raise_alert(integration.company_id, "run_failed", subject, link, error=(run.error or "")[:500],
                    run=run.id)
    elif run.status == RunStatus.DONE and run.kind == REFRESH and (run.imported + run.updated + run.deleted):
        raise_alert(integration.company_id, "drift_repaired", subject, link, run=run.id,
                    repaired=run.imported + run.updated + run.deleted)
    elif run.status == RunStatus.AWAITING:  # R7: a large deletion waits; without this nobody heard of it
        items = db.session.scalar(select(func.count()).select_from(SyncItem).where(
            SyncItem.last_run_id == run.id, SyncItem.status == ItemStatus.PENDING_DELETION))
        raise_alert(integration.company_id, "deletion_awaiting", subject, f"/integrations/{integration.id}",
                    run=run.id, items=items)


# -- mail ----------------------------------------------------------------------------------------------
def _admins(company_id: int) -> list[User]:
    return db.session.scalars(select(User).where(User.company_id == company_id, User.role == Role.ADMIN,
                                                 User.active.is_(True)).order_by(User.id)).all()


def _message(to: str, subject: str, template: str, **context) -> EmailMessage:
    with force_locale("es"):  # the portal speaks Spanish to its users (SPEC D4)
        text = render_template(f"mail/{template}.txt", labels=KINDS, detail=detail, **context)
        html = render_template(f"mail/{template}.html", labels=KINDS, detail=detail, **context)
        subject = str(subject)
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = current_app.config["MAIL_FROM"], to, subject
    message.set_content(text)
    message.add_alternative(html, subtype="html")
    return message


def _send(messages: list[EmailMessage]) -> None:
    """Deliver through the configured SMTP server (no database transaction is open here)."""
    config = current_app.config
    with smtplib.SMTP(config["SMTP_HOST"], config["SMTP_PORT"], timeout=30) as smtp:
        if config["SMTP_STARTTLS"]:
            smtp.starttls(context=ssl.create_default_context())
        if config["SMTP_USER"]:
            smtp.login(config["SMTP_USER"], config["SMTP_PASSWORD"] or "")
        for message in messages:
            smtp.send_message(message)


def _base_url() -> str:
    return current_app.config["PUBLIC_BASE_URL"].rstrip("/")


def send_due(now: datetime | None = None) -> int:
    """The periodic job's body: immediate mails for alerts not mailed yet, then the digests due.
    Returns how many mails were sent."""
    if not current_app.config.get("SMTP_HOST"):
        return 0
    now = now or datetime.now(timezone.utc)
    return _send_immediate() + _send_digests(now)


def _send_immediate() -> int:
    alerts = db.session.scalars(select(Alert).where(Alert.mailed_at.is_(None)).order_by(Alert.id).limit(BATCH)).all()
    messages, done = [], []
    with force_locale("es"):
        for alert in alerts:
            for admin in _admins(alert.company_id):
                if settings_of(admin)["immediate"].get(alert.kind):
                    messages.append(_message(admin.email, f"[cBox Procore] {label(alert.kind)}: {alert.subject}",
                                             "alert", alert=alert, base_url=_base_url()))
            done.append(alert.id)
    db.session.commit()  # nothing held while the SMTP server answers
    if messages:
        _send(messages)  # an SMTP failure raises: nothing is marked, the next run tries again
    if done:
        db.session.query(Alert).filter(Alert.id.in_(done)).update({"mailed_at": datetime.now(timezone.utc)},
                                                                   synchronize_session=False)
        db.session.commit()
    return len(messages)


def _send_digests(now: datetime) -> int:
    due = now.replace(hour=current_app.config["ALERT_DIGEST_HOUR"], minute=0, second=0, microsecond=0)
    if now < due:
        return 0
    sent = 0
    admins = db.session.scalars(select(User).where(User.role == Role.ADMIN, User.active.is_(True),
                                                   User.company_id.is_not(None))).all()
    for admin in admins:
        last = admin.last_digest_at
        if not settings_of(admin)["digest"] or (last is not None and last >= due):
            continue
        since = last or (due - timedelta(days=1))
        alerts = db.session.scalars(select(Alert).where(Alert.company_id == admin.company_id,
                                                        Alert.created_at >= since).order_by(Alert.id)).all()
        user_id, email = admin.id, admin.email
        with force_locale("es"):
            message = (_message(email, f"[cBox Procore] {_l('Daily summary')}: {len(alerts)}", "digest",
                                alerts=alerts, base_url=_base_url()) if alerts else None)
        db.session.commit()
        if message is not None:
            _send([message])
            sent += 1
        db.session.query(User).filter(User.id == user_id).update({"last_digest_at": now}, synchronize_session=False)
        db.session.commit()
    return sent
