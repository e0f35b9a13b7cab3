"""The request loop: headers, retries, rate limits, typed errors, host policy, logs."""
from __future__ import annotations

import logging
from email.utils import formatdate

import pytest
import requests
import responses

from portal.procore import (ProcoreBadResponse, ProcoreNotFound, ProcorePermissionError,
                            ProcoreRateLimited, ProcoreRedirectRefused, ProcoreUnavailable,
                            ProcoreValidationError)

from .conftest import API

ME = f"{API}/rest/v1.0/me"
FOLDERS = f"{API}/rest/v1.0/folders"


def test_company_header_added_only_when_company_id_given(pc, rsps):
    rsps.get(FOLDERS, json={"id": 1})
    rsps.get(ME, json={"id": 2})
    pc.request("GET", "/rest/v1.0/folders", company_id=77, params={"project_id": 5})
    pc.request("GET", "/rest/v1.0/me")
    first, second = rsps.calls[0].request, rsps.calls[1].request
    assert first.headers["Procore-Company-Id"] == "77"
    assert first.headers["Authorization"] == "Bearer access-1"
    assert "project_id=5" in first.url
    assert "Procore-Company-Id" not in second.headers


def test_every_request_has_a_timeout(pc, rsps):
    """What reaches the transport adapter (GETs go to it directly: _http.get; other methods through
    requests' Session), for a GET and a POST."""
    rsps.get(ME, json={"id": 1})
    rsps.post(f"{API}/rest/v1.0/folders", json={"id": 9, "name": "x"})
    pc.me()
    pc.request("POST", "/rest/v1.0/folders", company_id=1, json={"folder": {"name": "x"}})
    assert [call.request.req_kwargs["timeout"] for call in rsps.calls] == [(5, 60), (5, 60)]


def test_429_honours_retry_after(pc, rsps, clock):
    rsps.get(ME, status=429, headers={"Retry-After": "7"})
    rsps.get(ME, json={"id": 1})
    assert pc.me().id == 1
    assert len(clock.sleeps) == 1 and 7 <= clock.sleeps[0] < 8


def test_429_with_only_rate_limit_reset(pc, rsps, clock):
    reset = int(clock.time()) + 12
    rsps.get(ME, status=429, headers={"X-Rate-Limit-Reset": str(reset),
                                      "X-Rate-Limit-Remaining": "0"})
    rsps.get(ME, json={"id": 1})
    assert pc.me().id == 1
    assert 12 <= clock.sleeps[0] < 13.5


def test_429_takes_the_longer_of_retry_after_and_reset(pc, rsps, clock):
    rsps.get(ME, status=429, headers={"Retry-After": "3",
                                      "X-Rate-Limit-Reset": str(int(clock.time()) + 20)})
    rsps.get(ME, json={"id": 1})
    pc.me()
    assert 20 <= clock.sleeps[0] < 21.5


def test_503_honours_retry_after_http_date(pc, rsps, clock):
    rsps.get(ME, status=503, headers={"Retry-After": formatdate(clock.time() + 30,
                                                                usegmt=True)})
    rsps.get(ME, json={"id": 1})
    pc.me()
    assert 29 <= clock.sleeps[0] < 32


def test_503_with_retry_after_seconds(pc, rsps, clock):
    rsps.get(ME, status=503, headers={"Retry-After": "4"})
    rsps.get(ME, json={"id": 1})
    pc.me()
    assert 4 <= clock.sleeps[0] < 5


def test_429_exhausted_raises_rate_limited_with_retry_after(pc, rsps, clock):
    for _ in range(4):
        rsps.get(ME, status=429, headers={"Retry-After": "2"})
    with pytest.raises(ProcoreRateLimited) as err:
        pc.me()
    assert err.value.retry_after >= 2 and err.value.status == 429
    assert len(rsps.calls) == 4  # first try + max_retries=3
    assert err.value.path == "/rest/v1.0/me"


def test_wait_longer_than_cap_is_not_slept(pc, rsps, clock):
    rsps.get(ME, status=429, headers={"Retry-After": "3600"})
    with pytest.raises(ProcoreRateLimited) as err:
        pc.me()
    assert clock.sleeps == [] and err.value.retry_after >= 3600


def test_5xx_backoff_then_success(pc, rsps, clock):
    rsps.get(ME, status=500)
    rsps.get(ME, status=502)
    rsps.get(ME, json={"id": 1})
    assert pc.me().id == 1
    assert len(clock.sleeps) == 2
    assert 0.5 <= clock.sleeps[0] <= 1.0 and 1.0 <= clock.sleeps[1] <= 2.0  # exponential


def test_5xx_exhausted_raises_unavailable(pc, rsps, clock):
    for _ in range(4):
        rsps.get(ME, status=500)
    with pytest.raises(ProcoreUnavailable) as err:
        pc.me()
    assert err.value.status == 500 and len(rsps.calls) == 4 and len(clock.sleeps) == 3


def test_timeout_retried_then_unavailable(pc, rsps, clock):
    for _ in range(4):
        rsps.get(ME, body=requests.ReadTimeout("slow"))
    with pytest.raises(ProcoreUnavailable, match="ReadTimeout"):
        pc.me()
    assert len(rsps.calls) == 4


def test_timeout_then_success(pc, rsps):
    rsps.get(ME, body=requests.ConnectionError("reset"))
    rsps.get(ME, json={"id": 3})
    assert pc.me().id == 3


def test_post_is_not_retried_after_a_read_timeout_or_500(pc, rsps):
    rsps.post(FOLDERS, body=requests.ReadTimeout("slow"))
    with pytest.raises(ProcoreUnavailable):
        pc.create_folder(1, 2, "New")
    rsps.post(FOLDERS, status=500)
    with pytest.raises(ProcoreUnavailable):
        pc.create_folder(1, 2, "New")
    assert len(rsps.calls) == 2  # one attempt each: a retry could duplicate the folder


def test_post_is_retried_on_503_and_connect_timeout(pc, rsps):
    rsps.post(FOLDERS, status=503, headers={"Retry-After": "1"})
    rsps.post(FOLDERS, body=requests.ConnectTimeout("no route"))
    rsps.post(FOLDERS, json={"id": 9, "name": "New"})
    assert pc.create_folder(1, 2, "New").id == 9


@pytest.mark.parametrize("status, error", [(403, ProcorePermissionError),
                                           (404, ProcoreNotFound),
                                           (422, ProcoreValidationError),
                                           (400, ProcoreValidationError)])
def test_permanent_errors_are_typed_and_not_retried(pc, rsps, clock, status, error):
    rsps.get(ME, status=status, json={"errors": "Name has already been taken"})
    with pytest.raises(error) as err:
        pc.me()
    assert len(rsps.calls) == 1 and clock.sleeps == []
    assert err.value.status == status and err.value.method == "GET"
    if status in (400, 422):
        assert "already been taken" in str(err.value)


def test_html_instead_of_json_is_bad_response(pc, rsps):
    rsps.get(ME, body="<html><body>Maintenance</body></html>", content_type="text/html")
    with pytest.raises(ProcoreBadResponse, match="HTML"):
        pc.me()


def test_garbage_json_is_bad_response(pc, rsps):
    rsps.get(ME, body="{not json", content_type="application/json")
    with pytest.raises(ProcoreBadResponse):
        pc.me()


def test_missing_fields_are_bad_response(pc, rsps):
    rsps.get(ME, json={"login": "a@b.c"})
    with pytest.raises(ProcoreBadResponse, match="id"):
        pc.me()


def test_redirect_from_api_is_not_followed(pc, rsps):
    rsps.get(ME, status=302, headers={"Location": "https://evil.example.com/steal"})
    with pytest.raises(ProcoreBadResponse, match="redirect"):
        pc.me()
    assert len(rsps.calls) == 1


@pytest.mark.parametrize("url", ["https://evil.example.com/rest/v1.0/me",
                                 "http://api.procore.test/rest/v1.0/me",  # downgrade
                                 "https://api.procore.test.evil.example.com/x"])
def test_bearer_never_sent_to_a_non_allowed_host(pc, rsps, url):
    rsps.get(url, json={"id": 1})
    with pytest.raises(ProcoreRedirectRefused):
        pc.request("GET", url)
    assert len(rsps.calls) == 0


def test_pagination_next_link_to_foreign_host_is_refused(pc, rsps):
    rsps.get(f"{API}/rest/v1.0/companies", json=[{"id": 1, "name": "A"}],
             headers={"Link": '<https://evil.example.com/rest/v1.0/companies?page=2>; '
                              'rel="next"'})
    with pytest.raises(ProcoreRedirectRefused):
        list(pc.companies())
    assert all("evil" not in c.request.url for c in rsps.calls)


def test_logs_have_method_path_status_but_no_secrets(pc, rsps, caplog):
    caplog.set_level(logging.DEBUG)
    url = f"{API}/rest/v1.0/files/1"
    rsps.get(url, json={"id": 1, "name": "a"})
    pc.request("GET", "/rest/v1.0/files/1", params={"project_id": 3, "token": "TOPSECRET",
                                                    "X-Amz-Signature": "SIGSECRET"})
    text = caplog.text
    assert "GET" in text and "/rest/v1.0/files/1" in text and "200" in text
    for secret in ("TOPSECRET", "SIGSECRET", "access-1", "Bearer"):
        assert secret not in text


def test_a_call_answered_below_400_is_logged_at_debug_an_error_at_info(pc, rsps, caplog):
    """Two lines per imported file at INFO were most of a worker's log (and a twentieth of its CPU)."""
    caplog.set_level(logging.INFO, logger="portal.procore.http")
    rsps.get(f"{API}/rest/v1.0/files/1", json={"id": 1, "name": "a"})
    rsps.get(f"{API}/rest/v1.0/files/2", status=404)
    pc.request("GET", "/rest/v1.0/files/1", params={"project_id": 3})
    with pytest.raises(ProcoreNotFound):
        pc.request("GET", "/rest/v1.0/files/2", params={"project_id": 3})
    lines = [record.getMessage() for record in caplog.records if record.name == "portal.procore.http"]
    assert len(lines) == 1 and "/rest/v1.0/files/2?project_id=3 -> 404" in lines[0], lines


def test_errors_never_carry_query_strings(pc, rsps):
    rsps.get(f"{API}/rest/v1.0/files/1", status=404)
    with pytest.raises(ProcoreNotFound) as err:
        pc.request("GET", "/rest/v1.0/files/1", params={"sig": "SIGSECRET"})
    assert "SIGSECRET" not in str(err.value) and err.value.path == "/rest/v1.0/files/1"


def test_rate_limit_headers_make_the_next_request_wait(pc, rsps, clock):
    reset = int(clock.time()) + 9
    rsps.get(ME, json={"id": 1}, headers={"X-Rate-Limit-Remaining": "1",
                                          "X-Rate-Limit-Reset": str(reset),
                                          "X-Rate-Limit-Limit": "25"})
    rsps.get(ME, json={"id": 1})
    pc.me()
    assert clock.sleeps == []
    pc.me()
    assert len(clock.sleeps) == 1 and 9 <= clock.sleeps[0] <= 10


def test_responses_is_the_only_transport(rsps):
    # Guard: anything unmocked fails fast instead of reaching the network.
    with pytest.raises(requests.ConnectionError):
        requests.get("https://api.procore.test/unmocked", timeout=1)
    assert isinstance(rsps, responses.RequestsMock)


def test_sessions_read_the_environment_once_unless_a_proxy_is_set(monkeypatch, tmp_path):
    """_http.plain_session: no per-request proxy/.netrc lookups when no proxy is configured (the
    import profile), the CA bundle variable still honoured; behind a proxy, requests' defaults."""
    from portal.procore._http import plain_session

    for name in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy", "all_proxy"):
        monkeypatch.delenv(name, raising=False)
    bundle = tmp_path / "ca.pem"
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(bundle))
    session = plain_session()
    assert session.trust_env is False and session.verify == str(bundle)
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.internal:3128")
    session = plain_session()
    assert session.trust_env is True and session.verify is True


def test_sessions_skip_the_redirect_nobody_sends_and_still_follow_when_asked(rsps):
    """_http.plain_session: with allow_redirects=False (every call of ours) requests no longer prepares
    the 3xx answer's next request (Response.next, never read; a twentieth of an import's CPU); a caller
    that asks to follow a redirect still gets requests' own behaviour."""
    from portal.procore._http import plain_session

    rsps.get(f"{API}/from", status=302, headers={"Location": f"{API}/to"})
    rsps.get(f"{API}/to", body="arrived")
    session = plain_session()
    answer = session.get(f"{API}/from", allow_redirects=False, timeout=5)
    assert answer.status_code == 302 and answer.is_redirect and answer.next is None
    followed = session.get(f"{API}/from", timeout=5)
    assert followed.text == "arrived" and [r.status_code for r in followed.history] == [302]


def test_a_get_goes_to_the_adapter_with_the_sessions_headers_and_settings(rsps):
    """_http.get: the session's headers (None removes one), the call's own, the params; the session's
    verify; not a redirect followed, no cookie kept (Procore's API needs none)."""
    from portal.procore._http import get, plain_session

    session = plain_session()
    session.headers.update({"X-Session": "s", "Authorization": "Bearer session-wide"})
    session.verify = "/etc/ssl/bundle.pem"
    rsps.get(f"{API}/a", status=302, headers={"Location": f"{API}/b", "Set-Cookie": "lb=1; Path=/"})
    answer = get(session, f"{API}/a", headers={"Authorization": None, "X-Call": "c"}, params={"q": 1}, timeout=3)
    assert answer.status_code == 302 and len(rsps.calls) == 1
    sent = rsps.calls[0].request
    assert sent.url == f"{API}/a?q=1" and sent.headers["X-Session"] == "s" and sent.headers["X-Call"] == "c"
    assert "Authorization" not in sent.headers and "User-Agent" in sent.headers
    assert sent.req_kwargs["verify"] == "/etc/ssl/bundle.pem" and sent.req_kwargs["timeout"] == 3
    assert not session.cookies


@pytest.fixture
def keepalive_server():
    """A real HTTP/1.1 server on loopback that keeps connections open and counts them."""
    import http.server
    import threading

    accepted = []

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def setup(self):
            accepted.append(self.client_address)
            super().setup()

        def do_GET(self):  # noqa: N802 - http.server's name
            body = b"ok"
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}", accepted
    server.shutdown()
    server.server_close()


def test_the_connection_pool_is_looked_up_once_per_host_and_connections_are_reused(keepalive_server):
    """_http.plain_session mounts an adapter that remembers each host's urllib3 pool (the PoolManager's key
    building was a fourteenth of an import's Python time): every GET to one host goes through one pool and one
    kept-alive connection; the session's close() forgets the pool, and the next GET opens a new one."""
    from portal.procore._http import get, plain_session

    base, accepted = keepalive_server
    session = plain_session()
    for path in ("/a", "/b?x=1", "/c"):
        assert get(session, base + path, headers={}, timeout=5).text == "ok"
    adapter = session.get_adapter(base)
    assert len(adapter._pools) == 1 and len(accepted) == 1  # one pool looked up, one TCP connection
    (pool,) = adapter._pools.values()
    session.close()
    assert adapter._pools == {}
    assert get(session, base + "/d", headers={}, timeout=5).text == "ok"
    (fresh,) = adapter._pools.values()
    assert fresh is not pool and len(accepted) == 2
