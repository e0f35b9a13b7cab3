"""Export cBox -> Procore Documents throughput: the real engine in a real worker vs a plain 8-thread uploader.

    .venv/bin/python bench/export.py [--files 300] [--mb 100] [--folders 6] [--latency-ms 30]
        [--plain-threads 8] [--sandbox-rate-limits]

On loopback, in a temporary folder removed at the end: a portal SQLite DB and embedded Redis with a
cBox tree (Documentos/Export Bench/<a few nested folders>, random content, sizes spread log-normally so
some files pass the 5 MiB part minimum and go segmented); the sandbox (SandboxServer) with `latency_ms`
on every request, storage included. A REAL `python worker.py` (RQ forks a work horse per job) runs the
export (portal.sync.exports: into `CalidadCloud` at the project's root, the tree below Documentos kept,
SPEC R24, R28). Wall = enqueue -> run row finished; peak RSS = the work horse's VmHWM (/proc).
The sandbox's listing of CalidadCloud is then checked against the cBox tree (every path, every size).

Then a plain uploader, as a script would do it, into another folder at the root: the same folders
(one POST each, parents first), then N `requests` threads doing Procore's direct uploads: create the
slot, POST the file to storage (or, above 5 MiB, PUT 8 MiB parts with the signed headers and PATCH the
ETags), create the file with `upload_uuid`. No database, no retries but 429s.

REST writes = POST/PATCH/DELETE calls to /rest/ (sandbox `endpoint_methods`) per exported file: two
for a small file (slot, file), three above 5 MiB (+ the completion PATCH), plus the folders.
Rate limits are OFF on both sides by default (sandbox windows disabled, portal pacing 1000/s): this
measures the engine, not Procore's budget; --sandbox-rate-limits keeps the sandbox's defaults (100
requests per 10 s, 3600 per hour). Figures only, never a test.
Last line: `ratio=<engine/plain> rest_writes_per_file=<x>`.
"""
from __future__ import annotations

import argparse
import hashlib
import io
import os
import random
import shutil
import sys
import tempfile
import threading
import time
from functools import partial
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.import_documents import (cpu_seconds, portal_settings, run_engine, start_worker,  # noqa: E402
                                    wait_listening)
from bench.portal_setup import ADMIN, admin_with_account, make_app  # noqa: E402 - after the path

PROJECT = "Puente Río Claro"
TOP = "Export Bench"
CALIDAD = "CalidadCloud"
MiB = 1024 * 1024
PART = 8 * MiB           # the plain uploader's parts, as the client's
SMALL = 5 * MiB          # up to this: one multipart POST
EXTENSIONS = (".pdf", ".dwg", ".xlsx", ".docx", ".txt", ".zip")
WRITES = ("POST", "PATCH", "DELETE")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=300)
    parser.add_argument("--mb", type=float, default=100.0, help="total size of the generated files (MB)")
    parser.add_argument("--folders", type=int, default=6, help="folders below Documentos/Export Bench")
    parser.add_argument("--latency-ms", type=int, default=30, help="added by the sandbox to every request")
    parser.add_argument("--plain-threads", type=int, default=8)
    parser.add_argument("--sandbox-rate-limits", action="store_true",
                        help="keep the sandbox's default rate limits (else both windows are off)")
    parser.add_argument("--portal-defaults", action="store_true",
                        help="the portal's default pacing (PROCORE_REQUESTS_PER_SECOND, PROCORE_BURST) and the "
                             "sandbox's default rate limits: what a user gets today")
    parser.add_argument("--seed", type=int, default=1)
    return parser.parse_args(argv)


# -- the cBox tree -------------------------------------------------------------------------------

def folder_paths(count: int, rng: random.Random) -> list[tuple[str, ...]]:
    """`count` folder paths below TOP, each under TOP or under an earlier one (depth <= 4)."""
    paths: list[tuple[str, ...]] = [(TOP,)]
    for n in range(count):
        parent = rng.choice([p for p in paths if len(p) < 4])
        paths.append(parent + (f"Carpeta {n + 1:02d}" + (" Información" if n % 3 == 0 else ""),))
    return paths


def file_sizes(count: int, total: int, rng: random.Random) -> list[int]:
    """Log-normal sizes (a few files far above the mean) summing to `total` bytes."""
    weights = [rng.lognormvariate(0, 1.6) for _ in range(count)]
    scale = total / sum(weights)
    sizes = [max(1, int(w * scale)) for w in weights]
    sizes[0] += total - sum(sizes)
    return sizes


def make_tree(app, sb, args) -> dict:
    """A company, its admin with a Procore account (a sandbox token), a cBox project and the tree under
    Documentos (committed). Returns ids and every file's path below Documentos, size and a
    function that opens its content."""
    from portal.cbox import store
    from portal.cbox.blobstore import get_blob_store
    from portal.extensions import db

    rng = random.Random(args.seed)
    with app.app_context():
        company, user, account = admin_with_account(sb, sb.company_id())
        documents = store.categorized_folder(store.create_project(company.id, "Bench"), "documents")
        folders = {(): documents}
        for path in folder_paths(args.folders, rng):
            folders[path] = store.ensure_folder(folders[path[:-1]], path[-1])
        placed: dict[tuple[str, ...], list] = {}
        for index, size in enumerate(file_sizes(args.files, int(args.mb * 1e6), rng)):
            where = rng.choice([p for p in folders if p])
            name = f"Documento {index + 1:04d}{rng.choice(EXTENSIONS)}"
            blob = store.write_blob(io.BytesIO(rng.randbytes(size)), expected_size=size)
            placed.setdefault(where, []).append((name, blob))
        files = []
        for where, entries in placed.items():
            for made in store.add_files(folders[where], entries):
                files.append({"path": where + (made.name,), "size": made.current_version.size,
                              # read through the blob store protocol (a folder or an S3 bucket), no app needed
                              "open": partial(get_blob_store().open, made.current_version.blob_sha256)})
        db.session.commit()
        return {"user": user.id, "account": account.id, "documents": documents.id, "top": folders[(TOP,)].id,
                "folders": sorted(p for p in folders if p), "files": files}


def make_export(app, tree: dict, project_id: int) -> int:
    """The export integration of Documentos/Export Bench and its run (committed, not enqueued)."""
    from portal.extensions import db
    from portal.models import CboxFolder, ProcoreAccount, User
    from portal.sync import exports

    with app.app_context():
        user, account = db.session.get(User, tree["user"]), db.session.get(ProcoreAccount, tree["account"])
        _integration, run = exports.create(user, account, db.session.get(CboxFolder, tree["documents"]),
                                           project_id=project_id, project_name=PROJECT,
                                           folder_ids=[tree["top"]], file_ids=[])
        db.session.commit()
        return run.id


# -- what landed in Procore ------------------------------------------------------------------------

class Procore:
    """Plain `requests` calls with the admin's token: what a script would write."""

    def __init__(self, sb, company_id: int, project_id: int) -> None:
        self.url, self.project_id = sb.url, project_id
        self.headers = {"Authorization": f"Bearer {sb.token(ADMIN)['access_token']}",
                        "Procore-Company-Id": str(company_id)}
        self.local = threading.local()

    @property
    def http(self) -> requests.Session:
        if not hasattr(self.local, "session"):
            self.local.session = requests.Session()
        return self.local.session

    def call(self, method: str, path: str, **kw) -> requests.Response:
        """One REST call; a 429 waits Retry-After and goes again (only with --sandbox-rate-limits)."""
        params = {"project_id": self.project_id, **kw.pop("params", {})}
        while True:
            response = self.http.request(method, self.url + path, headers=self.headers, timeout=120,
                                         params=params, **kw)
            if response.status_code != 429:
                response.raise_for_status()
                return response
            time.sleep(float(response.headers.get("Retry-After", "1")))

    def root_child(self, name: str) -> int | None:
        root = self.call("GET", "/rest/v1.0/folders", params={"exclude_files": "true"}).json()
        return next((f["id"] for f in root["folders"] if f["name"] == name), None)

    def files_below(self, folder_id: int) -> dict[str, int]:
        """{path below the folder: size} of every live file in its subtree (the documents index)."""
        found, page = {}, 1
        prefix = self.call("GET", f"/rest/v1.0/folders/{folder_id}",
                           params={"exclude_files": "true"}).json()["name_with_path"] + "/"
        while True:
            rows = self.call("GET", f"/rest/v1.0/projects/{self.project_id}/documents", params={
                "filters[folder_id]": folder_id, "filters[document_type]": "file",
                "filters[is_in_recycle_bin]": "false", "per_page": 1000, "page": page}).json()
            for row in rows:
                version = (row.get("file") or {}).get("current_version") or {}
                found[row["name_with_path"].removeprefix(prefix)] = version.get("size")
            if len(rows) < 1000:
                return found
            page += 1


def check(procore: Procore, folder_id: int | None, tree: dict, label: str) -> str:
    if folder_id is None:
        return f"{label}: no folder at the project's root"
    landed = procore.files_below(folder_id)
    sizes = {"/".join(f["path"]): f["size"] for f in tree["files"]}
    missing = sorted(set(sizes) - set(landed))
    extra = sorted(set(landed) - set(sizes))
    wrong = sorted(p for p in set(sizes) & set(landed) if landed[p] != sizes[p])
    if not (missing or extra or wrong):
        return f"{label}: all {len(sizes)} files in place, tree and sizes as in cBox"
    return (f"{label}: {len(missing)} missing, {len(extra)} unexpected, {len(wrong)} of another size "
            f"(e.g. {(missing + extra + wrong)[:3]})")


# -- the plain uploader ----------------------------------------------------------------------------

def plain_upload(procore: Procore, tree: dict, threads: int) -> tuple[float, int]:
    """Folders first (parents before children), then every file by `threads` threads.
    Returns (seconds, the id of its folder at the root)."""
    started = time.perf_counter()
    ids = {(): procore.call("POST", "/rest/v1.0/folders", json={"folder": {"name": "Plain upload"}}).json()["id"]}
    for path in tree["folders"]:
        ids[path] = procore.call("POST", "/rest/v1.0/folders", json={"folder": {
            "name": path[-1], "parent_id": ids[path[:-1]]}}).json()["id"]
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(lambda f: upload_one(procore, f, ids[f["path"][:-1]]), tree["files"]))
    return time.perf_counter() - started, ids[()]


def upload_one(procore: Procore, file: dict, parent_id: int) -> None:
    name, size, uploads = file["path"][-1], file["size"], f"/rest/v1.1/projects/{procore.project_id}/uploads"
    with file["open"]() as handle:
        if size <= SMALL:
            slot = procore.call("POST", uploads, json={"response_filename": name,
                                                       "response_content_type": "application/octet-stream"}).json()
            stored = procore.http.post(slot["url"], data=list(slot["fields"].items()),
                                       files={"file": (name, handle, "application/octet-stream")}, timeout=300)
            stored.raise_for_status()
        else:
            specs = []
            for offset in range(0, size, PART):
                part = handle.read(min(PART, size - offset))
                specs.append({"size": len(part), "sha256": hashlib.sha256(part).hexdigest()})
            slot = procore.call("POST", uploads, json={"segments": specs}).json()
            etags = []
            for index, segment in enumerate(slot["segments"]):
                handle.seek(index * PART)
                stored = procore.http.put(segment["url"], data=handle.read(segment["size"]), timeout=300,
                                          headers={"Content-Type": "application/octet-stream", **segment["headers"]})
                stored.raise_for_status()
                etags.append({"etag": stored.headers["ETag"]})
            procore.call("PATCH", f"{uploads}/{slot['uuid']}", json={"segments": etags})
    procore.call("POST", "/rest/v1.0/files", json={"file": {"name": name, "parent_id": parent_id,
                                                            "upload_uuid": slot["uuid"]}})


# -- the run -----------------------------------------------------------------------------------------

def writes(stats: dict) -> dict[str, int]:
    return {key: count for key, count in stats.get("endpoint_methods", {}).items()
            if key.split(" ", 1)[0] in WRITES and key.split(" ", 1)[1].startswith("/rest/")}


def main(argv=None) -> None:
    args = parse_args(argv)
    from sandbox.testing import SandboxServer

    work = Path(tempfile.mkdtemp(prefix="bench-export-"))
    args.sandbox_rate_limits = args.sandbox_rate_limits or args.portal_defaults
    limits = {} if args.sandbox_rate_limits else {"rate_limit_spike": 0, "rate_limit_hourly": 0}
    sb = SandboxServer(db_path=str(work / "sandbox.sqlite3"), reset=True, config=limits)
    worker = None
    try:
        os.chdir(ROOT)
        sb.start()
        project_id, company_id = sb.project_id(PROJECT), sb.company_id()
        settings = portal_settings(work, sb.url, None)
        if args.portal_defaults:  # config.py's pacing, as a user runs it
            for key in ("PROCORE_REQUESTS_PER_SECOND", "PROCORE_BURST"):
                settings.pop(key)
                os.environ.pop(key, None)
        app = make_app(settings)
        tree = make_tree(app, sb, args)
        big = sum(1 for f in tree["files"] if f["size"] > SMALL)
        total = sum(f["size"] for f in tree["files"])
        largest = max(f["size"] for f in tree["files"])
        print(f"cBox tree: {len(tree['files'])} files, {total / 1e6:.1f} MB, {len(tree['folders'])} folders "
              f"({big} files above 5 MiB go segmented, the largest {largest / 1e6:.1f} MB)", flush=True)
        run_id = make_export(app, tree, project_id)
        worker = start_worker(settings, work, app.config["REDIS_URL"])
        wait_listening(work, worker)
        sb.control({"latency_ms": args.latency_ms})
        sb._post("/_sandbox/stats/reset")
        sandbox_cpu = cpu_seconds(sb.proc.pid)
        engine = run_engine(app, run_id, worker)
        engine["sandbox_cpu"] = cpu_seconds(sb.proc.pid) - sandbox_cpu
        engine_stats = sb.stats()
        sb.control({"latency_ms": 0})
        procore = Procore(sb, company_id, project_id)
        engine_check = check(procore, procore.root_child(CALIDAD), tree, "engine")
        if engine["status"] != "done" or engine["failed"]:
            print(f"engine run ended {engine['status']} with {engine['failed']} failures: {engine['error']}")
        sb.control({"latency_ms": args.latency_ms})
        sb._post("/_sandbox/stats/reset")
        sandbox_cpu, own_cpu = cpu_seconds(sb.proc.pid), time.process_time()
        plain, plain_folder = plain_upload(procore, tree, args.plain_threads)
        plain_cpu = {"client": time.process_time() - own_cpu, "sandbox": cpu_seconds(sb.proc.pid) - sandbox_cpu}
        plain_stats = sb.stats()
        sb.control({"latency_ms": 0})
        plain_check = check(procore, plain_folder, tree, "plain ")
        report(args, tree, engine, engine_stats, plain, plain_stats, plain_cpu, (engine_check, plain_check))
    finally:
        if worker is not None:
            import psutil

            for child in psutil.Process(worker.pid).children(recursive=True):
                child.kill()
            worker.kill()
            worker.wait()
        sb.cleanup()
        shutil.rmtree(work, ignore_errors=True)


def report(args, tree, engine: dict, engine_stats: dict, plain: float, plain_stats: dict, plain_cpu: dict,
           checks: tuple[str, str]) -> None:
    files, mb = len(tree["files"]), sum(f["size"] for f in tree["files"]) / 1e6
    exported = engine["files"] or files
    limits = ("sandbox defaults (100 per 10 s, 3600 per hour)" if args.sandbox_rate_limits
              else "off (sandbox windows disabled, portal pacing 1000/s)")
    if args.portal_defaults:
        limits += "; portal pacing: config.py's defaults (PROCORE_REQUESTS_PER_SECOND, PROCORE_BURST)"
    print(f"latency {args.latency_ms} ms per request (storage too); rate limits {limits}; "
          f"plain uploader {args.plain_threads} threads")
    print(f"engine : {engine['wall']:.2f} s  {files / engine['wall']:.1f} files/s  {mb / engine['wall']:.1f} MB/s  "
          f"(run: status {engine['status']}, {engine['files']} files, {engine['bytes'] / 1e6:.1f} MB, "
          f"{engine['failed']} failed)")
    print(f"plain  : {plain:.2f} s  {files / plain:.1f} files/s  {mb / plain:.1f} MB/s  (folders, then the files)")
    for label, stats, count in (("engine", engine_stats, exported), ("plain ", plain_stats, files)):
        counted = writes(stats)
        print(f"{label} REST writes: {sum(counted.values())} = {sum(counted.values()) / max(count, 1):.2f} per file ("
              + ", ".join(f"{k}={v}" for k, v in sorted(counted.items())) + f"); all API calls {stats['api_requests']}")
    print(f"peak RSS: work horse {engine['horse_rss']:.0f} MB, worker parent {engine['worker_rss']:.0f} MB; "
          f"CPU s: engine work horse {engine['horse_cpu']:.1f} + sandbox {engine['sandbox_cpu']:.1f}; "
          f"plain client {plain_cpu['client']:.1f} + sandbox {plain_cpu['sandbox']:.1f}")
    for line in checks:
        print(f"check {line}")
    print(f"ratio={engine['wall'] / plain:.2f} "
          f"rest_writes_per_file={sum(writes(engine_stats).values()) / max(exported, 1):.2f}")


if __name__ == "__main__":
    main()
