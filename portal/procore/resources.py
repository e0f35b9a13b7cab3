"""The Procore webhook resources this portal handles, and the tool each one concerns (SPEC R4, R14).

One list serves the receiver (which events are worth storing), the hook triggers we ask Procore
for, and the router that sends an event to the integrations of its tool. The names are
third-party observations [L] (procore-api.md §6 "Resource discovery"); only those Procore offers
in GET /webhooks/resources are subscribed.
"""
from __future__ import annotations

# resource name -> (tool, subscribed): subscribed ones get create/update/delete triggers on our hook.
RESOURCES: dict[str, tuple[str, bool]] = {
    "Project Folders": ("documents", True),
    "Project Files": ("documents", True),
    "Project File Versions": ("documents", True),
    "File Versions": ("documents", False),  # a bare name seen on some sandboxes [L]
    "Images": ("photos", True),
    "Image Categories": ("photos", True),
    "Drawings": ("drawings", True),
    "Drawing Revisions": ("drawings", True),  # not confirmed by Procore [L]
    "Drawing Uploads": ("drawings", True),
    "Drawing Sets": ("drawings", False),
    "Drawing Areas": ("drawings", False),
}

HANDLED = frozenset(RESOURCES)
SUBSCRIBED = tuple(name for name, (_tool, subscribed) in RESOURCES.items() if subscribed)


def tool_of(resource_name: str | None) -> str | None:
    """The Procore tool whose integrations an event on this resource concerns (None: not ours)."""
    entry = RESOURCES.get(resource_name or "")
    return entry[0] if entry else None
