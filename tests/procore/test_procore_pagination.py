"""Paginators: Link following, Total checks, max_pages, cursors, the Link parser."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.procore import (Company, DocumentIndexItem, PaginationIncomplete, ProcoreBadResponse,
                            parse_link_header)

from .conftest import API

DOCS = f"{API}/rest/v1.0/projects/5/documents"


def link(page: int, rel: str = "next", base: str = DOCS) -> str:
    return f'<{base}?page={page}&per_page=2>; rel="{rel}"'


def doc(i: int) -> dict:
    return {"id": i, "name": f"d{i}", "document_type": "file", "parent_id": 1}


def add_pages(rsps, pages: list[list[int]], total: int | None, base: str = DOCS) -> None:
    for number, ids in enumerate(pages, start=1):
        headers = {} if total is None else {"Total": str(total), "Per-Page": "2"}
        links = [link(1, "first", base), link(len(pages), "last", base)]
        if number < len(pages):
            links.append(link(number + 1, "next", base))
        headers["Link"] = ", ".join(links)
        rsps.get(base, json=[doc(i) for i in ids], headers=headers,
                 match=[_page(number)])


def _page(number: int):
    from responses.matchers import query_param_matcher
    return query_param_matcher({"page": str(number), "per_page": "2"}, strict_match=False)


def test_follows_link_over_several_pages(pc, rsps):
    add_pages(rsps, [[1, 2], [3, 4], [5]], total=5)
    items = list(pc.documents_index(1, 5, per_page=2))
    assert [i.id for i in items] == [1, 2, 3, 4, 5]
    assert all(isinstance(i, DocumentIndexItem) for i in items)
    assert len(rsps.calls) == 3
    assert all(c.request.headers["Procore-Company-Id"] == "1" for c in rsps.calls)


def test_total_mismatch_is_detected(pc, rsps):
    add_pages(rsps, [[1, 2], [3]], total=5)
    got = []
    with pytest.raises(PaginationIncomplete) as err:
        for item in pc.documents_index(1, 5, per_page=2):
            got.append(item.id)
    assert got == [1, 2, 3]  # yielded, but the caller learns it is partial
    assert (err.value.seen, err.value.total) == (3, 5)


def test_duplicate_rows_from_a_shifting_listing_are_detected(pc, rsps):
    # An item inserted mid-listing pushes id 2 onto page 2: 4 rows, 3 distinct.
    add_pages(rsps, [[1, 2], [2, 3]], total=4)
    with pytest.raises(PaginationIncomplete):
        list(pc.documents_index(1, 5, per_page=2))


def test_max_pages_stops_with_an_error_not_silently(pc, rsps):
    add_pages(rsps, [[1, 2], [3, 4], [5]], total=5)
    with pytest.raises(PaginationIncomplete, match="max_pages"):
        list(pc.paginate("/rest/v1.0/projects/5/documents", company_id=1, per_page=2,
                         max_pages=2))
    assert len(rsps.calls) == 2


def test_single_unpaginated_list_without_headers_is_complete(pc, rsps):
    rsps.get(f"{API}/rest/v1.0/companies", json=[{"id": 1, "name": "A"},
                                                 {"id": 2, "name": "B"}])
    assert [c.name for c in pc.companies()] == ["A", "B"]


def test_missing_link_but_total_says_more_steps_page_numbers(pc, rsps):
    for number, ids in ((1, [1, 2]), (2, [3])):
        rsps.get(DOCS, json=[doc(i) for i in ids], headers={"Total": "3"},
                 match=[_page(number)])
    assert [i.id for i in pc.documents_index(1, 5, per_page=2)] == [1, 2, 3]


def test_v2_data_envelope(pc, rsps):
    url = f"{API}/rest/v2.0/things"
    rsps.get(url, json={"data": [{"id": "7", "name": "x"}]}, headers={"Total": "1"})
    assert [c.id for c in pc.paginate("/rest/v2.0/things", model=Company)] == [7]


def test_a_next_link_that_loops_is_refused(pc, rsps):
    rsps.get(DOCS, json=[doc(1), doc(2)], headers={"Link": link(1)})
    with pytest.raises(ProcoreBadResponse, match="loop"):
        list(pc.documents_index(1, 5, per_page=2))


def test_filters_are_encoded(pc, rsps):
    rsps.get(DOCS, json=[])
    list(pc.documents_index(1, 5, updated_at=("2024-01-01", "2024-02-01"),
                            is_in_recycle_bin=False, document_type="file"))
    url = rsps.calls[0].request.url
    assert "filters%5Bupdated_at%5D=2024-01-01...2024-02-01" in url
    assert "filters%5Bis_in_recycle_bin%5D=false" in url


def test_cursor_pagination_for_deliveries(pc, rsps):
    from responses.matchers import query_param_matcher
    url = f"{API}/rest/v1.0/webhooks/hooks/9/deliveries"
    rsps.get(url, json=[{"id": 10, "outcome": "ok"}, {"id": 11, "outcome": "failed"}],
             match=[query_param_matcher({"project_id": "5", "page_size": "2",
                                         "filters[status]": "any"})])
    rsps.get(url, json=[{"id": 12, "outcome": "ok"}],
             match=[query_param_matcher({"project_id": "5", "page_size": "2",
                                         "page_start": "11", "filters[status]": "any"})])
    got = list(pc.deliveries(1, 5, 9, status="any", page_size=2))
    assert [d.id for d in got] == [10, 11, 12] and got[1].outcome == "failed"


def test_cursor_that_cannot_advance_is_incomplete(pc, rsps):
    url = f"{API}/rest/v1.0/webhooks/hooks/9/deliveries"
    rsps.get(url, json=[{"event_id": 1}, {"event_id": 2}])  # full page, no ids
    with pytest.raises(PaginationIncomplete):
        list(pc.deliveries(1, 5, 9, page_size=2))


# -- Link header parser --------------------------------------------------------

def test_parse_link_header_examples():
    value = ('<https://api.procore.com/rest/v1.0/x?page=1&ids=1,2>; rel="first", '
             '<https://api.procore.com/rest/v1.0/x?page=3>; rel="next last"')
    assert parse_link_header(value) == {
        "first": "https://api.procore.com/rest/v1.0/x?page=1&ids=1,2",
        "next": "https://api.procore.com/rest/v1.0/x?page=3",
        "last": "https://api.procore.com/rest/v1.0/x?page=3"}
    assert parse_link_header(None) == {} and parse_link_header("garbage") == {}
    assert parse_link_header("<u>; REL=next") == {"next": "u"}


url_chars = st.text(alphabet=st.characters(blacklist_characters="<>\r\n\t ",
                                           blacklist_categories=("Cs", "Zs", "Cc")),
                    min_size=1, max_size=60)
rel_names = st.sampled_from(["next", "prev", "first", "last"])


@settings(database=None)  # no .hypothesis/ folder in the work tree
@given(st.lists(st.tuples(url_chars, rel_names), max_size=6, unique_by=lambda t: t[1]),
       st.sampled_from([", ", ",", " ,  "]))
def test_link_parser_round_trips(links, sep):
    value = sep.join(f'<{url}>; rel="{rel}"' for url, rel in links)
    assert parse_link_header(value) == {rel: url for url, rel in links}


@settings(database=None)
@given(st.text(max_size=300))
def test_link_parser_never_raises(value):
    result = parse_link_header(value)
    assert isinstance(result, dict)
    assert all(isinstance(k, str) and isinstance(v, str) for k, v in result.items())
