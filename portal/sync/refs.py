"""Shared plumbing of the mappers' `list_refs` (the webhook path; contract in mapper.Mapper.list_refs).

Every mapper resolves all refs first and yields afterwards, so FullRefreshNeeded is raised before
the caller has seen a single item, and each (kind, id) is yielded once however many refs name it.
"""
from __future__ import annotations

from typing import Callable, Iterable, Iterator

from portal.sync.mapper import FullRefreshNeeded, RemoteItem


def checked(refs: Iterable, known: Iterable[str]) -> list[tuple[str, int]]:
    """The refs in order, duplicates dropped, ids as ints; FullRefreshNeeded for a resource the
    mapper cannot resolve item by item (or a ref that is not a (name, id) pair)."""
    known, out, seen = set(known), [], set()
    for ref in refs:
        try:
            name, resource_id = ref
            key = (str(name), int(resource_id))
        except (TypeError, ValueError):
            raise FullRefreshNeeded(f"unreadable webhook reference {ref!r}") from None
        if key[0] not in known:
            raise FullRefreshNeeded(f"{key[0]!r} events cannot be applied item by item")
        if key not in seen:
            seen.add(key)
            out.append(key)
    return out


def resolve_all(refs: list[tuple[str, int]], resolve: Callable[[str, int], list[RemoteItem]]) -> Iterator[RemoteItem]:
    """Resolve every ref (`resolve(name, id)` gives ancestors first, then the item or its marker),
    then yield each (kind, id) once, first occurrence wins (parents therefore stay first)."""
    resolved = [item for name, resource_id in refs for item in resolve(name, resource_id)]
    yielded: set[tuple[str, int]] = set()
    for item in resolved:
        key = (item.kind, item.id)
        if key not in yielded:
            yielded.add(key)
            yield item
