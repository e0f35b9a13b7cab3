"""State survives a restart (same DB file), and the startup flags behave."""
from __future__ import annotations

import requests

from sandbox.testing import SandboxServer, free_port


def test_restart_keeps_state_and_signed_urls(tmp_path):
    db = str(tmp_path / "persist.sqlite3")
    port = free_port()
    first = SandboxServer(port=port, db_path=db, reset=False,
                          env={"SANDBOX_TOKEN_LIFETIME": "1234", "SANDBOX_PUBLIC_BASE_URL": "http://sbx.test:9"})
    first.start()
    try:
        cid, pid = first.company_id(), first.project_id()
        tok = first.token()
        assert tok["expires_in"] == 1234
        h = {"Authorization": f"Bearer {tok['access_token']}", "Procore-Company-Id": str(cid)}
        r = requests.post(f"{first.url}/rest/v1.0/folders?project_id={pid}", headers=h,
                          json={"folder": {"name": "Persistente"}})
        fid = r.json()["id"]
        root = requests.get(f"{first.url}/rest/v1.0/folders?project_id={pid}", headers=h).json()
        url = root["files"][0]["file_versions"][0]["url"]
        assert url.startswith("http://sbx.test:9/")  # public_base_url knob
        loc = requests.get(url.replace("http://sbx.test:9", first.url), headers={"Authorization": h["Authorization"]},
                           allow_redirects=False).headers["Location"]
    finally:
        first.stop()
    second = SandboxServer(port=port, db_path=db, reset=False)
    second.start()
    try:
        assert second.company_id() == cid
        r = requests.get(f"{second.url}/rest/v1.0/folders/{fid}?project_id={pid}", headers=h)
        assert r.status_code == 200 and r.json()["name"] == "Persistente"
        assert requests.get(loc.replace("http://sbx.test:9", second.url)).status_code == 200
    finally:
        second.cleanup()
