"""Hook health states (SPEC R8): a label, a badge kind and what to do, for every page; and every other
webhook code a page shows (inbox rows, their outcomes and reasons, Procore's deliveries and triggers,
who checked a hook): a label, never the code (issue 14)."""
from __future__ import annotations

import re

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import pgettext

from portal.models.webhooks import EventStatus
from portal.sync.reasons import PROCORE_PROBLEMS, procore_problem

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

# What support staff can do about each state (the support project page): they cannot repair a hook, so
# the advice says what to look at here, what the company's admin must press, and what support can redo.
SUPPORT_ADVICE = {
    HEALTHY: _l("The hook is healthy. If a change still did not arrive, compare Procore's deliveries with the "
                "events received here below, and process a stored event again if its run failed."),
    MISSING: _l("No webhook of this portal exists on the project, so no change reaches it. The company's "
                "admin fixes it with “Repair” on the project's webhook page; then check again here and run a "
                "refresh of its integrations to bring what was missed."),
    WRONG_ENDPOINT: _l("The hook points at another address (see “Our webhook” and “Expected endpoint” "
                       "below): deliveries go elsewhere. The company's admin fixes it with “Repair”; check "
                       "the portal's PUBLIC_BASE_URL if the expected endpoint itself looks wrong."),
    OTHER_APP: _l("Another application's webhook is on the project (address below) and imports are refused. "
                  "A Procore project Admin must remove it in Procore › Admin › Webhooks; check again here "
                  "afterwards."),
    TRIGGERS_MISSING: _l("Our hook lacks some triggers, so changes of some tools do not arrive. The company's "
                         "admin fixes it with “Repair”, then a refresh brings what was missed."),
    WRONG_SECRET: _l("Deliveries carry a secret this portal did not issue and are refused (see the received "
                     "events below). The company's admin fixes it with “Repair”, which sets a new secret."),
    DELIVERIES_FAILING: _l("Procore could not deliver to this portal: compare its deliveries below (the HTTP "
                           "answer it got) with the events received here. Check that the public address is "
                           "reachable from the Internet; Procore retries for 12 hours."),
    CHECK_FAILED: _l("Procore could not be asked (reason above): check again once the company's Procore "
                     "connection is valid; its admin sees it on the Procore connections page."),
}


def label(state: str):
    return LABELS.get(state, (state, "neutral"))[0]


def kind(state: str) -> str:
    return LABELS.get(state, (state, "neutral"))[1]

# Inbox rows (portal/models/webhooks.py EventStatus) as support and admins read them.
EVENT_LABELS = {
    EventStatus.RECEIVED: (_l("Received"), "neutral"),
    EventStatus.PROCESSING: (_l("Processing"), "neutral"),
    EventStatus.RETRYING: (_l("Retrying"), "warn"),
    EventStatus.DONE: (_l("Processed"), "ok"),
    EventStatus.FAILED: (_l("Failed"), "error"),
    EventStatus.QUARANTINED: (_l("Quarantined"), "error"),
    EventStatus.IGNORED: (_l("Ignored"), "neutral"),
    EventStatus.SELF_ORIGINATED: (_l("Our own change"), "neutral"),
}
OUTCOME_LABELS = {"no_integration": _l("no integration"), "refresh_queued": _l("refresh queued"),
                  "sync_queued": _l("sync queued"), "waiting_for_credentials": _l("waiting for valid credentials")}


def event_label(status: str):
    return EVENT_LABELS.get(status, (status, "neutral"))[0]


def event_kind(status: str) -> str:
    return EVENT_LABELS.get(status, (status, "neutral"))[1]


def outcome_label(outcome: str | None):
    return OUTCOME_LABELS.get(outcome or "", outcome or "")


# Why the inbox stored a row without processing it, or why processing failed: the English text is kept
# on the row (logs, support); pages say the sentence, with any technical part folded away.
FOREIGN = "the event's company or project does not match the hook's secret"
SELF_CAUSED = "caused by this portal's own write"
UNHANDLED = "resource {detail!r} is not synchronised"
MALFORMED = "malformed: {detail}"
WORKER_STOPPED = "the worker stopped mid-processing"
_REASONS = (  # (English on the row, sentence, whether its detail helps: the resource is shown anyway)
    (FOREIGN, _l("The event's company or project does not match the webhook's secret."), False),
    (SELF_CAUSED, _l("Caused by a change this portal made in Procore."), False),
    (UNHANDLED, _l("This portal does not synchronise this kind of Procore item."), False),
    (MALFORMED, _l("The body of the event could not be read."), True),
)


def _matcher(english: str) -> re.Pattern:
    return re.compile(re.escape(english).replace(re.escape("{detail!r}"), "(?P<detail>.*)")
                      .replace(re.escape("{detail}"), "(?P<detail>.*)") + r"\Z", re.DOTALL)


_REASON_PATTERNS = [(_matcher(english), sentence, detailed) for english, sentence, detailed in _REASONS]


def event_reason(reason: str | None) -> tuple[str | None, str | None]:
    """(sentence, technical detail) for an inbox row's reason."""
    if not reason:
        return None, None
    for pattern, sentence, detailed in _REASON_PATTERNS:
        match = pattern.match(reason)
        if match:
            return str(sentence), match.groupdict().get("detail") if detailed else None
    return _("Not processed."), reason


def event_error(error: str | None) -> tuple[str | None, str | None]:
    """(sentence, technical detail) for the error of an inbox row whose processing failed."""
    if not error:
        return None, None
    if error == WORKER_STOPPED:
        return _("The background process stopped while processing it."), None
    return _("Processing failed."), error


# Procore's delivery attempts (its delivery log): ok | retried | failed | discarded.
DELIVERY_LABELS = {
    "ok": (_l("Delivered"), "ok"),
    "retried": (_l("Failed; Procore retries"), "warn"),
    "failed": (_l("Not delivered"), "error"),
    "discarded": (_l("Discarded by Procore"), "error"),
}


def delivery_label(outcome: str | None):
    return DELIVERY_LABELS.get(outcome or "", (_l("Unknown result"), "neutral"))[0]


def delivery_kind(outcome: str | None) -> str:
    return DELIVERY_LABELS.get(outcome or "", (None, "neutral"))[1]


# Who ran a hook check: a code for the portal's own checks, else a user's email.
CHECKED_BY = {"import": _l("an import"), "periodic": _l("the periodic check"), "support": _l("support"),
              "cli": _l("the command line")}


def checked_by(who: str | None):
    return CHECKED_BY.get(who or "", who or "—")


def resource_label(name: str | None) -> str:
    """A Procore webhook resource (portal/procore/resources.py) as pages name it; others as Procore does."""
    labels = {"Project Folders": pgettext("Procore resource", "Project Folders"),
              "Project Files": pgettext("Procore resource", "Project Files"),
              "Project File Versions": pgettext("Procore resource", "Project File Versions"),
              "File Versions": pgettext("Procore resource", "File Versions"),
              "Images": pgettext("Procore resource", "Images"),
              "Image Categories": pgettext("Procore resource", "Image Categories"),
              "Drawings": pgettext("Procore resource", "Drawings"),
              "Drawing Revisions": pgettext("Procore resource", "Drawing Revisions"),
              "Drawing Uploads": pgettext("Procore resource", "Drawing Uploads"),
              "Drawing Sets": pgettext("Procore resource", "Drawing Sets"),
              "Drawing Areas": pgettext("Procore resource", "Drawing Areas")}
    return labels.get(name or "", name or "?")


def event_type_label(event_type: str | None) -> str:
    labels = {"create": pgettext("Procore event", "create"), "update": pgettext("Procore event", "update"),
              "delete": pgettext("Procore event", "delete")}
    return labels.get((event_type or "").lower(), event_type or "?")


def trigger_label(resource: str | None, event_type: str | None) -> str:
    """ "Archivos del proyecto · creación": a trigger, or what an event or a delivery was about."""
    return f"{resource_label(resource)} · {event_type_label(event_type)}"


def trigger_list(triggers) -> str:
    """Triggers (resource, event type, …) as one comma-separated line."""
    return ", ".join(trigger_label(trigger[0], trigger[1]) for trigger in triggers)


def check_failure(details: dict | None) -> str:
    """Why a hook could not be checked (a CHECK_FAILED diagnosis), in the user's language."""
    why = (details or {}).get("error")
    if why == "permission":
        return _("Missing permission: “Admin” on the project’s Admin tool in Procore.")
    if why in ("auth", "reauth"):  # "reauth": diagnoses recorded before the one mapping
        return _("Your Procore authorization expired or was revoked.")
    return procore_problem(why if why in PROCORE_PROBLEMS else "other")
