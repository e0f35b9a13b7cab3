"""Why an item is not synced, why a run ended badly, what went wrong talking to Procore: one code
per reason, with its sentence (SPEC R7, R34; issue 14).

A link (SyncItem) records the code and its arguments; the page says the sentence in the user's
language (`describe`), and `error` keeps it in English for logs and support. A run keeps its
English text (SyncRun.error, written with `run_error`); the page says the sentence of its code
(`describe_run_error`). Procore's own messages are English: pages say the sentence of the error's
kind (`procore_problem`) and show Procore's text only as a technical detail. Sentences are marked
with `N_` so `make extract-messages` finds them; they are translated when shown.
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field

from flask_babel import gettext

from portal.models.procore import AccountStatus
from portal.procore import errors as procore_errors


def N_(message: str) -> str:  # noqa: N802 - the gettext convention for "translate later"
    return message


SENTENCES = {
    "gone": N_("The file is no longer in Procore (deleted or moved out of the selection)."),
    "size_mismatch": N_("The download size differs from the size Procore listed (%(detail)s)."),
    "link_expired": N_("The download link kept expiring until the time allowed for this file ran out; the next "
                       "refresh tries again."),
    "forbidden": N_("Procore refused access (403): the account lost its permission on this file."),
    "auth_lost": N_("Procore rejected the credentials (401): the account must sign in again."),
    "store_full": N_("The document store is full."),
    "store_error": N_("Storage error: %(detail)s"),
    "parent_missing": N_("Its parent folder could not be created."),
    "no_download": N_("Procore lists no downloadable version for this file."),
    "unexpected": N_("Unexpected error: %(detail)s"),
    "procore_error": N_("Procore answered with an error: %(detail)s"),
    "cannot_see": N_("The Procore account %(login)s can no longer see this item; it was kept in cBox."),
    "await_confirm": N_("Procore no longer has it; it will be deleted once an admin confirms."),
    "delete_cancelled": N_("Procore no longer has it; the deletion was cancelled and the next refresh asks again."),
    "deleted_unverified": N_("Deleted in Procore; waiting for valid Procore credentials to confirm it."),
    "changed_unverified": N_("Changed in Procore; waiting for valid Procore credentials to update it."),
    "run_incomplete": N_("The last run ended before this item was complete: %(detail)s"),
    "run_stopped": N_("The last run was stopped before this item was complete; resume it to finish."),
    "no_credentials": N_("No valid Procore credentials for this project; nothing is lost meanwhile."),
    "only_local": N_("Only in cBox: it was created here and is not in Procore."),
    "not_an_image": N_("Not exported: only .png, .jpg, .jpeg, .gif and .bmp images go to Procore Photos."),
    "export_delete_waiting": N_("Deleted in cBox; it leaves Procore once valid Procore credentials exist "
                                "(or use “Remove from Procore now”)."),
    "not_exported_yet": N_("Not exported to Procore yet: the next export run copies it."),
}


# What the page says instead when the sentence's detail is English technical text (an OS error, a byte count
# in Procore's words, an exception class): `english()` keeps the detail for support and logs.
SHOWN_WITHOUT_DETAIL = {
    "size_mismatch": N_("The download size differs from the size Procore listed."),
    "store_error": N_("The document store could not save it."),
    "unexpected": N_("An unexpected error stopped this item; it has been logged."),
}


@dataclass(frozen=True)
class Reason:
    code: str
    args: dict = field(default_factory=dict)

    def english(self) -> str:
        return _format(SENTENCES[self.code], self.args)

    def describe(self) -> str:
        """The sentence in the current request's language."""
        return _format(gettext(SENTENCES[self.code]), self.args)


def _format(sentence: str, args: dict) -> str:
    try:
        return sentence % args if args else sentence
    except (KeyError, TypeError, ValueError):
        return sentence


def describe(code: str | None, args: dict | None, fallback: str | None) -> str | None:
    """What a link's reason says to the user: its translated sentence, else the stored text. Procore's
    own message and a run's English error never reach the page: the sentence of their kind does."""
    args = args or {}
    if code == "procore_error" and args.get("kind") in PROCORE_PROBLEMS:
        return procore_problem(args["kind"])
    if code == "run_incomplete" and args.get("detail"):
        return _format(gettext(SENTENCES[code]), {"detail": describe_run_error(args["detail"])[0]})
    if code in SHOWN_WITHOUT_DETAIL:
        return gettext(SHOWN_WITHOUT_DETAIL[code])
    if code in SENTENCES:
        return Reason(code, args).describe()
    return fallback


# What went wrong talking to Procore, by kind of error.
PROCORE_PROBLEMS = {
    "auth": N_("Procore rejected the credentials: the account must sign in to Procore again."),
    "permission": N_("Procore refused access: the account lacks a permission in Procore."),
    "not_found": N_("Procore did not find it: it was deleted, or the account cannot see it."),
    "validation": N_("Procore refused the request as invalid."),
    "rate_limited": N_("Procore is limiting requests right now; try again in a few minutes."),
    "unavailable": N_("Procore could not be reached or did not answer; try again in a few minutes."),
    "bad_response": N_("Procore answered something this portal cannot read."),
    "incomplete": N_("Procore's listing came back incomplete."),
    "other": N_("Procore answered with an error."),
}
_PROBLEM_KINDS = ((procore_errors.ProcoreAuthError, "auth"), (procore_errors.ProcorePermissionError, "permission"),
                  (procore_errors.ProcoreNotFound, "not_found"),
                  (procore_errors.ProcoreValidationError, "validation"),
                  (procore_errors.ProcoreRateLimited, "rate_limited"),
                  (procore_errors.ProcoreUnavailable, "unavailable"),
                  (procore_errors.PaginationIncomplete, "incomplete"),
                  (procore_errors.ProcoreBadResponse, "bad_response"))


def procore_problem_kind(error: BaseException) -> str:
    return next((kind for cls, kind in _PROBLEM_KINDS if isinstance(error, cls)), "other")


def procore_problem(error_or_kind) -> str:
    """The translated sentence for a Procore error (or its kind); Procore's message is not in it."""
    kind = error_or_kind if isinstance(error_or_kind, str) else procore_problem_kind(error_or_kind)
    return gettext(PROCORE_PROBLEMS.get(kind, PROCORE_PROBLEMS["other"]))


REVOCATION_UNCONFIRMED = "Procore did not confirm the revocation"  # a ProcoreAccount.last_error


def account_problem(account) -> tuple[str | None, str | None]:
    """(sentence, technical detail) for a Procore account's last error (the connections page): Procore's refusal
    to renew its tokens, or a revocation Procore did not confirm."""
    if not account.last_error:
        return None, None
    if account.last_error == REVOCATION_UNCONFIRMED:
        return gettext(N_("Procore did not confirm the revocation; revoke the app in Procore if it is still "
                          "listed.")), None
    if account.status == AccountStatus.NEEDS_REAUTH:
        return procore_problem("auth"), account.last_error
    return procore_problem("other"), account.last_error


def procore_error(error: BaseException, limit: int = 500) -> Reason:
    """An item's reason for a Procore error: its kind for the page, Procore's message for support."""
    return Reason("procore_error", {"detail": str(error)[:limit], "kind": procore_problem_kind(error)})


# Why a run ended badly: (English text stored in SyncRun.error, with {detail} at most once; the page's sentence).
RUN_ERRORS = {
    "no_credentials": ("No valid Procore credentials for this project: the accounts that completed an integration "
                       "there were disconnected or need to sign in again.",
                       N_("No valid Procore credentials for this project: the accounts that completed an "
                          "integration there were disconnected or need to sign in again.")),
    "no_reader": ("No valid Procore account can read this project any more (R34).",
                  N_("No connected Procore account can read this project any more.")),
    "not_admin": ("No connected account is Admin on the Procore {detail} tool of this project (R32).",
                  N_("No connected Procore account is Admin on the Procore tool this export writes to.")),
    "listing_incomplete": ("Procore's listing was incomplete ({detail}); nothing was deleted.",
                           N_("Procore's listing came back incomplete; nothing was deleted.")),
    "auth_rejected": ("Procore rejected the credentials: {detail}", PROCORE_PROBLEMS["auth"]),
    "list_failed": ("Procore could not be listed: {detail}", N_("Procore's content could not be listed.")),
    "write_failed": ("Procore could not be written: {detail}", N_("Procore could not be written to.")),
    "unexpected": ("Unexpected error: {detail}", N_("An unexpected error stopped the run; it has been logged.")),
    "worker_stopped": ("the worker stopped before the run ended",
                       N_("the background process stopped before the run ended")),
}
RUN_ERROR_UNKNOWN = N_("The run ended with an error.")


def run_error(code: str, detail: object = "") -> str:
    """The English text a run (or its items) stores for this code."""
    return RUN_ERRORS[code][0].format(detail=detail)


def _pattern(english: str) -> re.Pattern:
    return re.compile(re.escape(english).replace(re.escape("{detail}"), "(?P<detail>.*)") + r"\Z", re.DOTALL)


_RUN_PATTERNS = [(code, _pattern(english)) for code, (english, _sentence) in RUN_ERRORS.items()]


def describe_run_error(text: str | None) -> tuple[str | None, str | None]:
    """(sentence in the user's language, technical detail or None) for a run's stored error text."""
    if not text:
        return None, None
    for code, pattern in _RUN_PATTERNS:
        match = pattern.match(text)
        if match:
            return gettext(RUN_ERRORS[code][1]), (match.groupdict().get("detail") or None)
    for sentence in SENTENCES.values():  # an item's reason that stopped the run (the credentials were lost)
        if "%(" not in sentence and sentence == text:
            return gettext(sentence), None
    return gettext(RUN_ERROR_UNKNOWN), text
