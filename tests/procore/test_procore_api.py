"""Typed high-level methods: paths, scopes, bodies and result models."""
from __future__ import annotations

import json
from urllib.parse import parse_qs, urlsplit

import responses

from portal.procore import InMemoryCredential

from .conftest import API, LOGIN, make_pair

HOOKS = f"{API}/rest/v1.0/webhooks/hooks"


def query(call) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(call.request.url).query).items()}


def test_permissions_project_and_company_scope(pc, rsps):
    url = f"{API}/rest/v1.0/settings/permissions"
    rsps.get(url, json={"tools": [{"id": 1, "name": "admin",
                                   "user_access_level": {"name": "Admin"}}]})
    rsps.get(url, json={"tools": [{"id": 2, "name": "directory",
                                   "user_access_level": {"name": "Standard"}}]})
    assert pc.permissions(1, 5).is_admin("admin")
    assert pc.permissions(1).level("directory") == "Standard"
    assert query(rsps.calls[0]) == {"project_id": "5"}
    assert query(rsps.calls[1]) == {"company_id": "1"}
    assert all(c.request.headers["Procore-Company-Id"] == "1" for c in rsps.calls)


def test_projects_and_folders(pc, rsps):
    rsps.get(f"{API}/rest/v1.0/projects", json=[{"id": 5, "name": "Tower"}])
    rsps.get(f"{API}/rest/v1.0/folders", json={"id": 1, "folders": [{"id": 2, "name": "A"}]})
    rsps.get(f"{API}/rest/v1.0/folders/2", json={"id": 2, "name": "A", "files": []})
    assert [p.name for p in pc.projects(1)] == ["Tower"]
    assert query(rsps.calls[0])["filters[by_status]"] == "Active"
    root = pc.root_folder(1, 5)
    assert root.folders[0].id == 2 and pc.folder(1, 5, 2).name == "A"


def test_rename_move_and_idempotent_delete(pc, rsps):
    rsps.patch(f"{API}/rest/v1.0/folders/3", json={"id": 3, "name": "B", "parent_id": 9})
    rsps.delete(f"{API}/rest/v1.0/files/4", status=204)
    rsps.delete(f"{API}/rest/v1.0/files/5", status=404)
    folder = pc.update_folder(1, 5, 3, name="B", parent_id=9)
    assert folder.parent_id == 9
    assert json.loads(rsps.calls[0].request.body) == {"folder": {"name": "B", "parent_id": 9}}
    assert pc.delete_file(1, 5, 4) is True
    assert pc.delete_file(1, 5, 5) is False  # already gone


def test_drawing_revisions_params(pc, rsps):
    rsps.get(f"{API}/rest/v1.0/projects/5/drawing_revisions",
             json=[{"id": 1, "current": True}, {"id": 2, "current": False}])
    revs = list(pc.drawing_revisions(1, 5, area_id=7, current_set=True,
                                     updated_at=("2024-01-01", "2024-02-01")))
    assert [r.id for r in revs if r.current] == [1]
    assert query(rsps.calls[0]) == {"drawing_area_id": "7", "drawing_set_id": "current_set",
                                    "filters[updated_at]": "2024-01-01...2024-02-01",
                                    "page": "1", "per_page": "100"}


def test_hook_create_never_keeps_the_secret(pc, rsps):
    rsps.post(HOOKS, json={"id": 3, "namespace": "cbox", "api_version": "v2",
                           "destination_url": "https://portal/hook",
                           "destination_headers": {"Authorization": "*****abcde"}})
    hook = pc.create_hook(1, 5, namespace="cbox", destination_url="https://portal/hook",
                          authorization="Bearer s3cr3t-abcde")
    body = json.loads(rsps.calls[0].request.body)
    assert body == {"project_id": 5, "hook": {
        "api_version": "v2", "namespace": "cbox", "destination_url": "https://portal/hook",
        "destination_headers": {"Authorization": "Bearer s3cr3t-abcde"}}}
    assert "s3cr3t" not in repr(hook)


def test_bulk_triggers_chunk_and_fold_207(pc, rsps):
    calls = []

    def bulk(request):
        chunk = json.loads(request.body)["triggers"]
        calls.append(len(chunk))
        ok = [{"id": i + 1, "resource_name": t["resource_name"],
               "event_type": t["event_type"].upper()} for i, t in enumerate(chunk[:-1])]
        bad = [{"trigger": chunk[-1], "errors": "duplicate"}]
        return 207, {}, json.dumps({"success": ok, "failed": bad})

    rsps.add_callback(responses.POST, f"{HOOKS}/3/triggers/bulk", callback=bulk)
    wanted = [(f"Res {i}", "create") for i in range(600)]
    result = pc.create_triggers_bulk(1, 5, 3, wanted)
    assert calls == [500, 100]
    assert len(result.created) == 598 and len(result.failed) == 2 and not result.ok
    assert result.failed[0] == ("Res 499", "create", "duplicate")
    assert result.created[0].event_type == "create"


def test_webhook_resources_and_triggers(pc, rsps):
    rsps.get(f"{API}/rest/v1.0/webhooks/resources",
             json=[{"api_version": "v2", "tools": "Project Files", "create": "x", "update": "x",
                    "delete": "x", "except": ["delete"]}])
    rsps.get(f"{HOOKS}/3/triggers", json=[{"id": 2 ** 40, "resource_name": "Project Files",
                                           "event_type": "update", "webhook_hook_id": 3}])
    res = pc.webhook_resources(1, 5)
    assert res[0].name == "Project Files" and res[0].events == {"create", "update"}
    assert pc.triggers(1, 5, 3)[0].id == 2 ** 40


def test_proactive_refresh_failure_falls_back_to_a_still_valid_token(make_client, rsps, clock):
    cred = InMemoryCredential("acct-fallback", make_pair(clock.time() - 5370))  # a 90-min token in its last 30 s
    pc = make_client(credential=cred)
    rsps.post(f"{LOGIN}/oauth/token", status=503)
    rsps.get(f"{API}/rest/v1.0/me", json={"id": 1})
    assert pc.me().id == 1
    assert rsps.calls[1].request.headers["Authorization"] == "Bearer access-1"
