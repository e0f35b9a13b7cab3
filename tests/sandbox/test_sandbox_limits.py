"""Rate limits, fault injection, counters and the benchmark generator."""
from __future__ import annotations

import time

import requests


def test_rate_limit_headers_and_429(admin, sb, world):
    r = admin.get("/rest/v1.0/me", company=False)
    assert r.headers["X-Rate-Limit-Limit"] == "100"
    assert int(r.headers["X-Rate-Limit-Reset"]) >= int(time.time())
    sb.control({"rate_limit_spike": 3, "rate_limit_spike_window": 30})
    seen = [admin.get(f"/rest/v1.0/projects?company_id={world.demo}") for _ in range(4)]
    assert [r.status_code for r in seen] == [200, 200, 200, 429]
    assert [r.headers["X-Rate-Limit-Remaining"] for r in seen] == ["2", "1", "0", "0"]
    assert 1 <= int(seen[-1].headers["Retry-After"]) <= 30
    assert seen[-1].headers["X-Rate-Limit-Limit"] == "3"
    # a refreshed/new token of the same user and app shares the budget
    other = sb.token("admin@constructora.test")["access_token"]
    assert requests.get(sb.url + "/rest/v1.0/me", headers={"Authorization": f"Bearer {other}"}).status_code == 429
    # another user is unaffected
    tok = sb.token("estandar@constructora.test")["access_token"]
    assert requests.get(sb.url + "/rest/v1.0/me", headers={"Authorization": f"Bearer {tok}"}).status_code == 200
    assert sb.stats()["rate_limited_429"] == 2


def test_hourly_window_reported_when_closer(admin, sb):
    sb.control({"rate_limit_hourly": 5, "rate_limit_spike": 100})
    r = admin.get("/rest/v1.0/me", company=False)
    assert r.headers["X-Rate-Limit-Limit"] == "5" and r.headers["X-Rate-Limit-Remaining"] == "4"


def test_fault_injection_and_counters(admin, sb):
    sb.control({"error_503_rate": 1.0, "retry_after_503": 7})
    r = admin.get("/rest/v1.0/me", company=False)
    assert r.status_code == 503 and r.headers["Retry-After"] == "7"
    assert "X-Rate-Limit-Remaining" in r.headers
    sb.control({"error_503_rate": 0.0, "error_5xx_rate": 1.0})
    assert admin.get("/rest/v1.0/me", company=False).status_code in (500, 502, 504)
    sb.control({"error_5xx_rate": 0.0, "latency_ms": 150})
    t0 = time.time()
    assert admin.get("/rest/v1.0/me", company=False).status_code == 200
    assert time.time() - t0 >= 0.15
    st = sb.stats()
    assert st["injected_503"] == 1 and st["injected_5xx"] == 1
    assert st["requests_by_user"]["admin@constructora.test"] >= 1
    assert any(k.startswith(admin.token[:8]) for k in st["requests_by_token"])
    assert st["endpoint_methods"]["GET /rest/v1.0/me"] == st["endpoints"]["/rest/v1.0/me"] >= 1
    admin.post("/rest/v1.0/folders", json={"folder": {"name": "x"}})  # no project_id: 404, still counted
    assert sb.stats()["endpoint_methods"]["POST /rest/v1.0/folders"] == 1
    bad = requests.post(sb.url + "/_sandbox/config", json={"no_such_knob": 1})
    assert bad.status_code == 400


def test_generate_large_tree(admin, sb, world):
    pid = world.rio_claro
    res = sb.generate(pid, files=60, total_mb=0.5, folders=12, seed=1)
    assert res["files"] == 60 and abs(res["bytes"] - 0.5 * 1024 * 1024) < 1024
    r = admin.get(f"/rest/v1.0/projects/{pid}/documents?filters[folder_id]={res['folder_id']}"
                  "&filters[document_type]=file&per_page=10")
    assert r.headers["Total"] == "60"
