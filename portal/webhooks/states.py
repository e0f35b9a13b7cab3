"""Hook health states (SPEC R8): a label, a badge kind and what to do, for every page."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l

HEALTHY = "healthy"
MISSING = "missing"
WRONG_ENDPOINT = "wrong_endpoint"
OTHER_APP = "other_app"
TRIGGERS_MISSING = "triggers_missing"
WRONG_SECRET = "wrong_secret"
DELIVERIES_FAILING = "deliveries_failing"
CHECK_FAILED = "check_failed"

# Shown in this order of precedence when several problems hold at once.
PRIORITY = (OTHER_APP, MISSING, WRONG_ENDPOINT, TRIGGERS_MISSING, WRONG_SECRET, DELIVERIES_FAILING)
REPAIRABLE = (MISSING, WRONG_ENDPOINT, TRIGGERS_MISSING, WRONG_SECRET, OTHER_APP)

LABELS = {
    HEALTHY: (_l("Healthy"), "ok"),
    MISSING: (_l("Missing"), "error"),
    WRONG_ENDPOINT: (_l("Wrong endpoint"), "error"),
    OTHER_APP: (_l("Owned by another application"), "error"),
    TRIGGERS_MISSING: (_l("Triggers missing"), "warn"),
    WRONG_SECRET: (_l("Unknown secret"), "warn"),
    DELIVERIES_FAILING: (_l("Deliveries failing"), "warn"),
    CHECK_FAILED: (_l("Could not check"), "neutral"),
}

ADVICE = {
    HEALTHY: _l("Nothing to do: Procore notifies this portal of every change in Documents, Photos and Drawings."),
    MISSING: _l("The project has no webhook of this portal: changes in Procore will not arrive. "
                "Repair creates it with its triggers."),
    WRONG_ENDPOINT: _l("Our webhook points at another address, so events never reach this portal. "
                       "Repair points it at this portal (the “Save Endpoint” fix) with a new secret."),
    OTHER_APP: _l("Another application's webhook is configured on this project; imports are refused while "
                  "it is there. A Procore project Admin must remove it in Procore › Admin › Webhooks. "
                  "Repair can create this portal's own webhook beside it."),
    TRIGGERS_MISSING: _l("Our webhook exists but does not subscribe to every change of Documents, Photos and "
                         "Drawings. Repair adds the missing triggers."),
    WRONG_SECRET: _l("Our webhook sends a secret this portal did not issue, so its deliveries are refused. "
                     "Repair sets a new secret."),
    DELIVERIES_FAILING: _l("Procore could not deliver the latest events to this portal. Check that the "
                           "public address is reachable; Procore retries for 12 hours, then discards them."),
    CHECK_FAILED: _l("The webhook could not be read from Procore; see the reason and check again."),
}


def label(state: str):
    return LABELS.get(state, (state, "neutral"))[0]


def kind(state: str) -> str:
    return LABELS.get(state, (state, "neutral"))[1]

# Inbox rows (portal/models/webhooks.py EventStatus) as support and admins read them.
EVENT_LABELS = {
    "received": (_l("Received"), "neutral"),
    "processing": (_l("Processing"), "neutral"),
    "retrying": (_l("Retrying"), "warn"),
    "done": (_l("Processed"), "ok"),
    "failed": (_l("Failed"), "error"),
    "quarantined": (_l("Quarantined"), "error"),
    "ignored": (_l("Ignored"), "neutral"),
    "self_originated": (_l("Our own change"), "neutral"),
}
OUTCOME_LABELS = {"no_integration": _l("no integration"), "refresh_queued": _l("refresh queued"),
                  "sync_queued": _l("sync queued"), "waiting_for_credentials": _l("waiting for valid credentials")}


def event_label(status: str):
    return EVENT_LABELS.get(status, (status, "neutral"))[0]


def event_kind(status: str) -> str:
    return EVENT_LABELS.get(status, (status, "neutral"))[1]


def outcome_label(outcome: str | None):
    return OUTCOME_LABELS.get(outcome or "", outcome or "")
