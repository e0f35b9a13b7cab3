"""From a change in Procore to the item visible in cBox, per tool, through real webhooks (SPEC R4).

    .venv/bin/python bench/webhook_to_visible.py [--changes 10] [--latency-ms 0]

On loopback, in a temporary folder removed at the end, with the portal's DEFAULT settings (pacing,
threads, rate limits of the sandbox included; --latency-ms adds sandbox latency and is printed):
the sandbox (its webhook dispatcher posts to our receiver), the portal's web app serving the
receiver (werkzeug, threaded), a SQLite database, an embedded Redis and a REAL `python worker.py`.
The project's webhook is repaired to point at the receiver, then one integration per tool imports:
Documents (a folder), Photos (an album), Drawings (the default area). Then, per tool and one at a
time, N changes in Procore: a new file in the folder, a new photo in the album, a new revision of a
drawing published. Each is timed from the moment Procore committed it (the REST call returned) to
the moment its cBox item is there and synced. Beside it, a full refresh of the same integration
("Procore › Actualizar", the reconciliation) is timed. Figures only, never a test.
Last line: `p95_documents_s=… p95_photos_s=… p95_drawings_s=…`.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import date
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.portal_setup import ADMIN, admin_with_account, make_app  # noqa: E402 - after the path
PROJECT = "Puente Río Claro"  # one default drawing area; seeded photos and documents
PDF = (b"%PDF-1.4\n1 0 obj<</Type/Catalog/Pages 2 0 R>>endobj 2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
       b"trailer<</Root 1 0 R>>\n%%EOF\n")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--changes", type=int, default=10, help="changes per tool")
    parser.add_argument("--latency-ms", type=int, default=0, help="sandbox latency per request (printed)")
    parser.add_argument("--timeout", type=float, default=60.0, help="seconds to wait for one change")
    parser.add_argument("--show-log", action="store_true", help="print the worker's log at the end")
    return parser.parse_args(argv)


class Procore:
    """A person working in Procore: the sandbox's REST API with an admin token of ANOTHER application
    (changes made with our own client id come back as our own writes and are, rightly, ignored)."""

    def __init__(self, sb):
        self.sb, self.company, self.project = sb, sb.company_id(), sb.project_id(PROJECT)
        self.token = sb.token(ADMIN, client_id="other-client", expires_in=86400)["access_token"]

    def call(self, method: str, path: str, params=None, **body):
        response = requests.request(method, self.sb.url + path, json=body or None, timeout=60,
                                    params={"project_id": self.project, **(params or {})},
                                    headers={"Authorization": f"Bearer {self.token}",
                                             "Procore-Company-Id": str(self.company)})
        response.raise_for_status()
        return response.json() if response.content else None

    def upload(self, name: str, data: bytes, content_type: str) -> str:
        slot = self.call("POST", f"/rest/v1.1/projects/{self.project}/uploads", response_filename=name,
                         response_content_type=content_type)
        stored = requests.post(slot["url"], data=slot["fields"], files={"file": (name, data)}, timeout=60)
        stored.raise_for_status()
        return slot["uuid"]


def portal_env(work: Path, sb_url: str, web_url: str) -> dict:
    return {"PORTAL_ENV": "development", "INSTANCE_DIR": str(work / "instance"), "STORAGE_DIR": str(work / "storage"),
            "DATABASE_URL": f"sqlite:///{work / 'portal.db'}", "PROCORE_API_URL": sb_url, "PROCORE_LOGIN_URL": sb_url,
            "PUBLIC_BASE_URL": web_url}


def serve(app, port: int):
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", port, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def setup(app, sb, procore: Procore, tools=("documents", "photos", "drawings"), targets: dict | None = None) -> dict:
    """Company, admin + Procore account, cBox project, a healthy hook, one integration per tool of `tools`
    (`targets`: the folder, album, area to select; default pick_targets)."""
    from portal.cbox import store
    from portal.connections.credentials import client_for_account, record_integration
    from portal.extensions import db
    from portal.models import Integration
    from portal.sync.jobs import create_run
    from portal.webhooks import health, repair

    with app.app_context():
        company, user, account = admin_with_account(sb, procore.company)
        project = store.create_project(company.id, "Bench")
        db.session.flush()
        record_integration(account, procore.project)
        db.session.commit()
        client = client_for_account(account)
        row = health.check(company, procore.project, client, "bench")
        db.session.commit()
        row, _failed = repair.apply(client, company, procore.project, row, "bench")
        db.session.commit()
        assert health.block_reason(row) is None, row.state
        targets = targets or pick_targets(procore)
        selections = {"documents": {"folders": [targets.get("folder_id")], "files": []},
                      "photos": {"albums": [targets.get("album_id")]},
                      "drawings": {"areas": [targets.get("area_id")], "disciplines": []}}
        runs = {}
        for tool in tools:
            selection = selections[tool]
            integration = Integration(company_id=company.id, cbox_folder_id=store.categorized_folder(project, tool).id,
                                      procore_company_id=procore.company, procore_project_id=procore.project,
                                      procore_project_name=PROJECT, tool=tool, selections=selection,
                                      account_id=account.id, created_by_id=user.id, status="active")
            db.session.add(integration)
            db.session.flush()
            runs[tool] = (integration.id, create_run(integration, "import").id)
        db.session.commit()
    return {"runs": runs, **targets}


def pick_targets(procore: Procore) -> dict:
    root = procore.call("GET", "/rest/v1.0/folders")
    folder = next(f for f in root["folders"] if not f.get("is_recycle_bin") and not f.get("private"))
    albums = procore.call("GET", "/rest/v1.0/image_categories")
    album = next(a for a in albums if a["name"] != "Unclassified")
    area = procore.call("GET", f"/rest/v1.1/projects/{procore.project}/drawing_areas")[0]
    drawings = procore.call("GET", f"/rest/v1.0/drawing_areas/{area['id']}/drawings")
    drawing = next(d for d in drawings if d.get("current_revision") and not d.get("obsolete"))
    sets = procore.call("GET", f"/rest/v1.0/projects/{procore.project}/drawing_sets")
    return {"folder_id": folder["id"], "album_id": album["id"], "area_id": area["id"], "drawing_id": drawing["id"],
            "set_id": sets[0]["id"]}


def wait_runs(app, run_ids, timeout: float = 600) -> None:
    from portal.extensions import db
    from portal.models import SyncRun
    from portal.sync.jobs import enqueue

    with app.app_context():
        for run_id in run_ids:
            enqueue(db.session.get(SyncRun, run_id))
        deadline = time.time() + timeout
        while time.time() < deadline:
            db.session.expire_all()
            statuses = [db.session.get(SyncRun, run_id).status for run_id in run_ids]
            if all(status not in ("queued", "running") for status in statuses):
                assert set(statuses) == {"done"}, statuses
                return
            time.sleep(0.05)
        raise RuntimeError(f"runs not done in time: {statuses}")


def visible(app, integration_id: int, procore_id: int, version_id: int | None = None) -> bool:
    from sqlalchemy import select

    from portal.extensions import db
    from portal.models import SyncItem

    with app.app_context():
        link = db.session.scalar(select(SyncItem).where(SyncItem.integration_id == integration_id,
                                                        SyncItem.procore_kind == "file",
                                                        SyncItem.procore_id == procore_id))
        ok = (link is not None and link.cbox_file_id is not None and link.status == "synced"
              and (version_id is None or link.procore_version_id == version_id))
        db.session.remove()
        return ok


def change_documents(procore: Procore, targets: dict, n: int) -> tuple[int, None]:
    uuid = procore.upload(f"bench-{n}.txt", f"cambio {n} {time.time()}".encode(), "text/plain")
    made = procore.call("POST", "/rest/v1.0/files", file={"name": f"bench-{n}.txt", "parent_id": targets["folder_id"],
                                                          "upload_uuid": uuid})
    return made["id"], None


def change_photos(procore: Procore, targets: dict, n: int) -> tuple[int, None]:
    from sandbox.photos.media import make_png

    data = make_png(16, 12, lambda x, y: ((x * 13 + n) % 256, (y * 17) % 256, (n * 29) % 256))
    uuid = procore.upload(f"foto-{n}.png", data, "image/png")
    made = procore.call("POST", "/rest/v1.0/images", upload_uuid=uuid, image_name=f"foto-{n}.png",
                        image={"image_category_id": targets["album_id"]})
    return made["id"], None


def change_drawings(procore: Procore, targets: dict, n: int) -> tuple[int, int]:
    uuid = procore.upload(f"rev-{n}.pdf", PDF + f"% {n} {time.time()}\n".encode(), "application/pdf")
    procore.call("POST", f"/rest/v1.1/projects/{procore.project}/drawing_uploads", drawing_upload={
        "drawing_area_id": targets["area_id"], "drawing_set_id": targets["set_id"],
        "drawing_log_imports": [{"upload_uuid": uuid, "drawing_date": date.today().isoformat(),
                                 "default_revision": str(100 + n), "drawing_id": targets["drawing_id"]}]})
    revisions = procore.call("GET", f"/rest/v1.0/projects/{procore.project}/drawing_revisions",
                             params={"drawing_id": targets["drawing_id"], "sort": "-id"})
    revision = revisions[0]["id"]
    procore.sb._post("/_sandbox/drawings/publish", {"project_id": procore.project, "revision_id": revision})
    return targets["drawing_id"], revision


CHANGES = {"documents": change_documents, "photos": change_photos, "drawings": change_drawings}


def time_changes(app, procore, targets, tool: str, n: int, timeout: float) -> list[float]:
    integration_id = targets["runs"][tool][0]
    seconds = []
    for index in range(n):
        procore_id, version = CHANGES[tool](procore, targets, index)
        changed = time.perf_counter()
        while not visible(app, integration_id, procore_id, version):
            if time.perf_counter() - changed > timeout:
                raise RuntimeError(f"{tool} change {index} not visible after {timeout} s")
            time.sleep(0.02)
        seconds.append(time.perf_counter() - changed)
    return seconds


def time_refresh(app, integration_id: int) -> float:
    from portal.extensions import db
    from portal.models import Integration
    from portal.sync.jobs import create_run

    with app.app_context():
        run = create_run(db.session.get(Integration, integration_id), "refresh")
        db.session.commit()
        run_id = run.id
    started = time.perf_counter()
    wait_runs(app, [run_id])
    return time.perf_counter() - started


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def main(argv=None) -> None:
    args = parse_args(argv)
    from sandbox.testing import SandboxServer, free_port

    work = Path(tempfile.mkdtemp(prefix="bench-live-"))
    web_port = free_port()
    web_url = f"http://127.0.0.1:{web_port}"
    sb = SandboxServer(db_path=str(work / "sandbox.sqlite3"), reset=True, config={"portal_url": web_url})
    worker = server = None
    try:
        os.chdir(ROOT)
        sb.start()
        settings = portal_env(work, sb.url, web_url)
        app = make_app(settings)
        server = serve(app, web_port)
        procore = Procore(sb)
        targets = setup(app, sb, procore)
        env = {**os.environ, **settings, "REDIS_URL": app.config["REDIS_URL"]}
        log = open(work / "worker.log", "wb")
        worker = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=log,
                                  stderr=subprocess.STDOUT)
        wait_runs(app, [run_id for _integration, run_id in targets["runs"].values()])
        if args.latency_ms:
            sb.control({"latency_ms": args.latency_ms})
        print(f"settings: portal defaults (PROCORE_REQUESTS_PER_SECOND={app.config['PROCORE_REQUESTS_PER_SECOND']}, "
              f"PROCORE_BURST={app.config['PROCORE_BURST']}); sandbox latency {args.latency_ms} ms, default rate "
              f"limits; {args.changes} changes per tool, one at a time", flush=True)
        p95 = {}
        for tool in CHANGES:
            seconds = time_changes(app, procore, targets, tool, args.changes, args.timeout)
            refresh = time_refresh(app, targets["runs"][tool][0])
            p95[tool] = percentile(seconds, 0.95)
            print(f"{tool:9}: change → visible p50 {statistics.median(seconds):.2f} s  p95 {p95[tool]:.2f} s  "
                  f"max {max(seconds):.2f} s;  full refresh of the same integration {refresh:.2f} s", flush=True)
        if args.show_log:
            print((work / "worker.log").read_text(errors="replace"))
        print(" ".join(f"p95_{tool}_s={value:.2f}" for tool, value in p95.items()))
    except BaseException:
        log_path = work / "worker.log"
        if log_path.exists():
            print("worker log (last lines):\n" + log_path.read_text(errors="replace")[-4000:])
        raise
    finally:
        if worker is not None:
            import psutil

            for child in psutil.Process(worker.pid).children(recursive=True):
                child.kill()
            worker.kill()
            worker.wait()
        if server is not None:
            server.shutdown()
        sb.cleanup()
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
