"""Why an item is not synced: one code per reason, with its sentence (SPEC R7, R34).

A link (SyncItem) records the code and its arguments; the page says the sentence in the user's
language (`describe`), and `error` keeps it in English for logs and support. Sentences are
marked with `N_` so `make extract-messages` finds them; they are translated when shown.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask_babel import gettext


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
    """What a link's reason says to the user: its translated sentence, else the stored text."""
    if code in SENTENCES:
        return Reason(code, args or {}).describe()
    return fallback
