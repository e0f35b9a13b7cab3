"""Paginators that never silently stop early.

Contract (chosen: raise, not a result flag): ``paginate`` yields items page
by page and, when the listing turns out to be partial, raises
``PaginationIncomplete`` AFTER yielding what it got. Partial means: fewer
distinct items than the last ``Total`` header said, or ``max_pages`` reached
while a next page existed, or a cursor that cannot advance. Consumers must
therefore not act destructively (delete local items "missing" remotely)
until the generator is exhausted WITHOUT an exception; ``collect()`` wraps
that for callers that want a list.

Distinct ids are counted, not rows: offset pagination over a listing that
changes while we read it can repeat an item (insert) or skip one (delete);
both show up as distinct-count < Total.
"""
from __future__ import annotations

import re
from typing import Any, Callable, Iterator, Mapping
from urllib.parse import urljoin

from . import _http
from .errors import PaginationIncomplete, ProcoreBadResponse

# <url>; param=value; rel="next last"  -- URLs may contain commas, so we
# match <...> groups instead of splitting on ",".
_LINK_RE = re.compile(r'<([^>]*)>((?:\s*;\s*[^;,<]+)*)')
_REL_RE = re.compile(r';\s*rel\s*=\s*(?:"([^"]*)"|([^\s;,"]+))', re.IGNORECASE)


def parse_link_header(value: str | None) -> dict[str, str]:
    """Parse an RFC 8288 Link header into {rel: url} (first url wins per rel)."""
    links: dict[str, str] = {}
    if not value:
        return links
    for match in _LINK_RE.finditer(value):
        url, params = match.group(1).strip(), match.group(2)
        for rel_match in _REL_RE.finditer(params):
            rels = rel_match.group(1) if rel_match.group(1) is not None else rel_match.group(2)
            for rel in rels.lower().split():
                links.setdefault(rel, url)
    return links


def page_items(body: Any, what: str) -> list[Any]:
    """A page is a JSON list, or {"data": [...]} for v2.0 endpoints."""
    if isinstance(body, Mapping) and isinstance(body.get("data"), list):
        return body["data"]
    if isinstance(body, list):
        return body
    raise ProcoreBadResponse(f"{what}: expected a JSON list")


def _item_key(raw: Any, index: int) -> str:
    if isinstance(raw, Mapping) and raw.get("id") is not None:
        return f"id:{raw['id']}"
    return f"row:{index}"  # no id: every row counts as distinct


class PaginationMixin:
    def paginate(self, path: str, *, company_id: int | None = None,
                 params: Mapping[str, Any] | None = None, per_page: int = 100,
                 model: Callable[[Any], Any] | Any = None,
                 max_pages: int | None = None) -> Iterator[Any]:
        """Yield every item of a page/per_page listing, following Link rel="next"."""
        convert = getattr(model, "from_api", model)
        query: dict[str, Any] | None = {**(params or {}), "per_page": per_page, "page": 1}
        url, page_no, pages, rows = path, 1, 0, 0
        seen: set[str] = set()
        visited: set[str] = set()
        total: int | None = None
        while True:
            resp = self._send("GET", url, company_id=company_id, params=query)
            with resp:
                items = page_items(_http.decode_json(resp, "GET", _http.url_path(resp.url)),
                                   _http.url_path(resp.url))
                header_total = _http.header_int(resp.headers, "Total")
                next_url = parse_link_header(resp.headers.get("Link")).get("next")
                base_url = resp.url
            pages += 1
            total = header_total if header_total is not None else total
            before = len(seen)
            for raw in items:
                seen.add(_item_key(raw, rows))
                rows += 1
                yield convert(raw) if convert else raw
            if next_url is None and items and total is not None and len(seen) < total \
                    and len(items) >= per_page and len(seen) > before:
                # No Link header but Total says there is more: step the page
                # number ourselves rather than report a false partial listing.
                page_no += 1
                url, query = path, {**(params or {}), "per_page": per_page, "page": page_no}
                next_url = ""
            elif next_url is not None:
                next_url = urljoin(base_url, next_url)
                if next_url in visited:
                    raise ProcoreBadResponse("pagination loops back to a visited page",
                                             method="GET", path=_http.url_path(next_url))
                visited.add(next_url)
                url, query = next_url, None  # the next URL carries its own query
            if next_url is None:
                break
            if max_pages is not None and pages >= max_pages:
                raise PaginationIncomplete(
                    f"listing stopped at max_pages={max_pages} with more pages left",
                    seen=len(seen), total=total, pages=pages, method="GET",
                    path=_http.url_path(self._url(path)))
        if total is not None and len(seen) < total:
            raise PaginationIncomplete(
                f"listing returned {len(seen)} distinct items, Total header said {total}",
                seen=len(seen), total=total, pages=pages, method="GET",
                path=_http.url_path(self._url(path)))

    def paginate_cursor(self, path: str, *, company_id: int | None = None,
                        params: Mapping[str, Any] | None = None, page_size: int = 100,
                        model: Any = None, max_pages: int | None = None) -> Iterator[Any]:
        """Cursor pagination (webhook deliveries v1.0): page_size + page_start=<last id>.

        A page shorter than ``page_size`` is the last one.
        """
        convert = getattr(model, "from_api", model)
        cursor: Any = None
        pages = rows = 0
        while True:
            query = {**(params or {}), "page_size": page_size}
            if cursor is not None:
                query["page_start"] = cursor
            body = self.request("GET", path, company_id=company_id, params=query)
            items = page_items(body, path)
            pages += 1
            rows += len(items)
            for raw in items:
                yield convert(raw) if convert else raw
            if len(items) < page_size:
                return
            last = items[-1].get("id") if isinstance(items[-1], Mapping) else None
            if last is None or last == cursor or (max_pages is not None and pages >= max_pages):
                raise PaginationIncomplete("cursor listing cannot continue", seen=rows,
                                           total=None, pages=pages, method="GET", path=path)
            cursor = last

    def collect(self, iterator: Iterator[Any]) -> list[Any]:
        """Materialise a paginator; raises PaginationIncomplete on partial data."""
        return list(iterator)
