"""Procore Documents import throughput: the real engine in a real worker vs a plain 8-thread downloader.

    .venv/bin/python bench/import_documents.py [--files 1000] [--mb 200] [--folders 40] [--latency-ms 30]
        [--big-file-mb 0] [--engine-threads 4] [--plain-threads 8]

On loopback, in a temporary folder removed at the end: the sandbox (SandboxServer) with a tree from
/_sandbox/generate (+ with --big-file-mb one file of that size) and `latency_ms`; a portal SQLite DB
and embedded Redis; a REAL `python worker.py` (RQ forks a work horse per job) running the import
through the engine. Wall = enqueue -> run row "done"; peak RSS = the work horse's VmHWM (/proc).
Then a plain downloader, as a script would do it: walk the same folders (one GET per folder, in
turn), then N `requests` threads fetch every file: token on the Procore URL, the 302 to storage
followed by hand WITHOUT Authorization, streamed into a file (no fsync, no database). Its time is
listing + downloading: the issue's target ("overlap listing with downloading; a good design beats
the plain downloader") compares against a downloader that lists first. The ratio against its
downloading alone is printed too (`download-only ratio`), the stricter figure.

Rate limits are OFF on both sides (sandbox windows disabled, portal pacing 1000/s): this measures
the engine, not Procore's budget (~3600 requests/hour: an import of N files takes >= N s there).
Figures only, never a test. Last line: `ratio=<engine/plain> rest_per_file=<x> peak_rss_mb=<y>`.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import urljoin

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.portal_setup import ADMIN, admin_with_account, make_app  # noqa: E402 - after the path
PROJECT = "Hospital Regional Ñuñoa"
LIST_ENDPOINTS = ("/rest/v1.0/folders", "/rest/v1.0/folders/<int:folder_id>", "/rest/v1.0/files/<int:file_id>",
                  "/rest/v1.0/projects/<int:project_id>/documents", "/rest/v1.0/file_versions/<int:version_id>")
DOWNLOAD_ENDPOINTS = ("/downloads/file_versions/<int:version_id>", "/downloads/prostore_files/<int:prostore_id>")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=1000)
    parser.add_argument("--mb", type=float, default=200.0, help="total size of the generated files")
    parser.add_argument("--folders", type=int, default=40)
    parser.add_argument("--latency-ms", type=int, default=30, help="added by the sandbox to every request")
    parser.add_argument("--big-file-mb", type=int, default=0, help="add one file of this size (e.g. 1024)")
    parser.add_argument("--engine-threads", type=int, default=None, help="SYNC_DOWNLOAD_THREADS (config: 8)")
    parser.add_argument("--plain-threads", type=int, default=8)
    parser.add_argument("--portal-defaults", action="store_true",
                        help="the portal's default pacing and the sandbox's default rate limits (what a user gets) "
                             "for the engine's run; the plain downloader then waits out 429s as a script would")
    return parser.parse_args(argv)


def portal_settings(work: Path, sb_url: str, threads: int | None) -> dict:
    settings = {"PORTAL_ENV": "development", "INSTANCE_DIR": str(work / "instance"),
                "STORAGE_DIR": str(work / "storage"), "DATABASE_URL": f"sqlite:///{work / 'portal.db'}",
                "PROCORE_API_URL": sb_url, "PROCORE_LOGIN_URL": sb_url,
                "PROCORE_REQUESTS_PER_SECOND": "1000", "PROCORE_BURST": "1000"}
    if threads:
        settings["SYNC_DOWNLOAD_THREADS"] = str(threads)
    return settings


def make_integration(app, sb, folder_ids: list[int]) -> tuple[int, int]:
    """A company, an admin with a Procore account (a sandbox token), a cBox project, an integration
    of the generated folders and its import run (committed, not enqueued)."""
    from portal.cbox import store
    from portal.extensions import db
    from portal.sync import gate, service

    with app.app_context():
        company, user, account = admin_with_account(sb, sb.company_id())
        documents = store.categorized_folder(store.create_project(company.id, "Bench"), "documents")
        db.session.flush()
        project = gate.Verdict(sb.project_id(PROJECT), PROJECT)
        integration, run = service.create_integration(user, account, documents, project, folder_ids, [])
        db.session.commit()
        return integration.id, run.id


def start_worker(settings: dict, work: Path, redis_url: str) -> subprocess.Popen:
    env = {**os.environ, **settings, "REDIS_URL": redis_url}
    log = open(work / "worker.log", "wb")
    return subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)


def wait_listening(work: Path, worker: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.time() + timeout
    while time.time() < deadline:
        if worker.poll() is not None:
            raise RuntimeError("worker exited:\n" + (work / "worker.log").read_text(errors="replace")[-3000:])
        if b"listening on" in (work / "worker.log").read_bytes():
            return
        time.sleep(0.1)
    raise RuntimeError("the worker did not start")


def hwm_mb(pid: int) -> float:
    """Peak resident set size (VmHWM) of a live process, in MB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_engine(app, run_id: int, worker: subprocess.Popen) -> dict:
    """Enqueue the run and wait for its row to finish, sampling the work horse's peak RSS."""
    import psutil

    from portal.extensions import db
    from portal.models import SyncRun
    from portal.sync.jobs import enqueue

    peaks: dict[int, float] = {}
    cpu: dict[int, float] = {}  # CPU seconds (user + system) of each process, last sample
    with app.app_context():
        started = time.perf_counter()
        enqueue(db.session.get(SyncRun, run_id))
        while True:
            for proc in [psutil.Process(worker.pid)] + psutil.Process(worker.pid).children(recursive=True):
                peaks[proc.pid] = max(peaks.get(proc.pid, 0.0), hwm_mb(proc.pid))
                try:
                    times = proc.cpu_times()
                    cpu[proc.pid] = times.user + times.system
                except psutil.Error:
                    pass  # the horse just exited: its last sample stands
            db.session.expire_all()
            run = db.session.get(SyncRun, run_id)
            if run.status not in ("queued", "running"):
                wall = time.perf_counter() - started
                break
            time.sleep(0.05)
        result = {"wall": wall, "status": run.status, "files": run.files_done, "bytes": run.bytes_done,
                  "failed": run.failed, "error": run.error, "worker_rss": peaks.get(worker.pid, 0.0),
                  "horse_rss": max((mb for pid, mb in peaks.items() if pid != worker.pid), default=0.0),
                  "horse_cpu": sum(seconds for pid, seconds in cpu.items() if pid != worker.pid)}
        db.session.remove()
    return result


def download_urls(sb, token: str, company_id: int, project_id: int, folder_ids: list[int]) -> list[str]:
    """Latest-version URLs of every file below the folders: the plain downloader's listing (timed)."""
    headers = {"Authorization": f"Bearer {token}", "Procore-Company-Id": str(company_id)}
    urls, stack = [], list(folder_ids)
    while stack:
        folder = _get_waiting(requests, f"{sb.url}/rest/v1.0/folders/{stack.pop()}", headers=headers, timeout=60,
                              params={"project_id": project_id}).json()
        stack.extend(sub["id"] for sub in folder["folders"])
        urls.extend(max(f["file_versions"], key=lambda v: v["number"])["url"] for f in folder["files"])
    return urls


def _get_waiting(session, url: str, **kw):
    """A GET that waits out a 429 as its Retry-After says (what a plain script does under rate limits)."""
    while True:
        response = session.get(url, **kw)
        if response.status_code != 429:
            return response
        time.sleep(float(response.headers.get("Retry-After") or 1))


def run_plain(urls: list[str], token: str, threads: int, out: Path) -> float:
    out.mkdir()
    local = threading.local()

    def fetch(index_url):
        index, url = index_url
        if not hasattr(local, "session"):
            local.session = requests.Session()
        session = local.session
        first = _get_waiting(session, url, headers={"Authorization": f"Bearer {token}"}, allow_redirects=False,
                             timeout=60)
        first.raise_for_status()
        with session.get(urljoin(url, first.headers["Location"]), stream=True, timeout=300) as response:
            response.raise_for_status()
            with open(out / str(index), "wb") as handle:
                for chunk in response.iter_content(1024 * 1024):
                    handle.write(chunk)

    started = time.perf_counter()
    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(fetch, enumerate(urls)))
    return time.perf_counter() - started


def main(argv=None) -> None:
    args = parse_args(argv)
    from sandbox.testing import SandboxServer

    work = Path(tempfile.mkdtemp(prefix="bench-import-"))
    limits = {} if args.portal_defaults else {"rate_limit_spike": 0, "rate_limit_hourly": 0}
    sb = SandboxServer(db_path=str(work / "sandbox.sqlite3"), reset=True, config=limits)
    worker = None
    try:
        os.chdir(ROOT)
        sb.start()
        project_id = sb.project_id(PROJECT)
        tree = sb.generate(project_id, files=args.files, total_mb=args.mb, folders=args.folders, seed=1)
        big = [sb.generate(project_id, files=1, total_mb=args.big_file_mb, folders=0, seed=2)][:bool(args.big_file_mb)]
        folder_ids = [made["folder_id"] for made in [tree, *big]]
        print(f"sandbox tree: {tree['files']} files, {tree['bytes'] / 1e6:.1f} MB, {tree['folders']} folders"
              + (f" + one {args.big_file_mb} MiB file" if big else ""), flush=True)
        settings = portal_settings(work, sb.url, args.engine_threads)
        if args.portal_defaults:  # config.py's pacing, as a user runs it
            for key in ("PROCORE_REQUESTS_PER_SECOND", "PROCORE_BURST"):
                settings.pop(key)
                os.environ.pop(key, None)
        app = make_app(settings)
        _integration_id, run_id = make_integration(app, sb, folder_ids)
        worker = start_worker(settings, work, app.config["REDIS_URL"])
        wait_listening(work, worker)
        sb.control({"latency_ms": args.latency_ms})
        sb._post("/_sandbox/stats/reset")
        sandbox_cpu = cpu_seconds(sb.proc.pid)
        engine = run_engine(app, run_id, worker)
        engine["sandbox_cpu"] = cpu_seconds(sb.proc.pid) - sandbox_cpu
        stats = sb.stats()
        sb._post("/_sandbox/stats/reset")
        if engine["status"] != "done" or engine["failed"]:
            print(f"engine run ended {engine['status']} with {engine['failed']} failures: {engine['error']}")
        token = sb.token(ADMIN)["access_token"]
        sandbox_cpu, own_cpu = cpu_seconds(sb.proc.pid), time.process_time()
        started = time.perf_counter()
        urls = download_urls(sb, token, sb.company_id(), project_id, folder_ids)
        listing = time.perf_counter() - started
        plain = {"listing": listing, "download": run_plain(urls, token, args.plain_threads, work / "plain")}
        plain_cpu = {"client": time.process_time() - own_cpu, "sandbox": cpu_seconds(sb.proc.pid) - sandbox_cpu}
        report(args, engine, stats, plain, len(urls), plain_cpu)
    finally:
        if worker is not None:
            import psutil

            for child in psutil.Process(worker.pid).children(recursive=True):
                child.kill()
            worker.kill()
            worker.wait()
        sb.cleanup()
        shutil.rmtree(work, ignore_errors=True)


def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a process (the sandbox) has used so far."""
    import psutil

    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def report(args, engine: dict, stats: dict, plain_times: dict, plain_files: int, plain_cpu: dict) -> None:
    endpoints = stats["endpoints"]
    files, mb = engine["files"], engine["bytes"] / 1e6
    rest = sum(endpoints.get(name, 0) for name in LIST_ENDPOINTS)
    downloads = sum(endpoints.get(name, 0) for name in DOWNLOAD_ENDPOINTS)
    threads = args.engine_threads or 8
    print(f"latency {args.latency_ms} ms per request; engine {threads} download threads, plain {args.plain_threads}; "
          + ("portal pacing and sandbox rate limits: defaults (100 per 10 s, 3600 per hour)" if args.portal_defaults
             else "rate limits off (sandbox windows disabled, portal pacing 1000/s)"))
    print(f"engine : {engine['wall']:.2f} s  {files / engine['wall']:.1f} files/s  {mb / engine['wall']:.1f} MB/s  "
          f"({files} files, {mb:.1f} MB, status {engine['status']}, {engine['failed']} failed)")
    plain, download_only = plain_times["listing"] + plain_times["download"], plain_times["download"]
    print(f"plain  : {plain:.2f} s  {plain_files / plain:.1f} files/s  {mb / plain:.1f} MB/s  ({plain_files} files: "
          f"listing {plain_times['listing']:.2f} s, then downloading {download_only:.2f} s)")
    print(f"requests per file: list/show {rest / max(files, 1):.3f} ({rest} calls: "
          + ", ".join(f"{k.split('/rest/v1.0')[-1]}={endpoints[k]}" for k in LIST_ENDPOINTS if endpoints.get(k))
          + f"); download {downloads / max(files, 1):.2f}; storage redirect "
          f"{stats['storage_downloads'] / max(files, 1):.2f}; all API {stats['api_requests']}")
    print(f"peak RSS: work horse {engine['horse_rss']:.0f} MB, worker parent {engine['worker_rss']:.0f} MB; "
          f"work horse CPU {engine['horse_cpu']:.1f} s ({1000 * engine['horse_cpu'] / max(files, 1):.1f} ms per file, "
          f"sampled every 50 ms)")
    print(f"CPU seconds (2 cores = {2 * engine['wall']:.1f} s available in the engine's wall, "
          f"{2 * plain:.1f} s in the plain one): engine work horse {engine['horse_cpu']:.1f} + sandbox "
          f"{engine['sandbox_cpu']:.1f}; plain client {plain_cpu['client']:.1f} + sandbox {plain_cpu['sandbox']:.1f}")
    print(f"download-only ratio (engine / the plain downloader's downloading alone): "
          f"{engine['wall'] / download_only:.2f}")
    print(f"ratio={engine['wall'] / plain:.2f} rest_per_file={rest / max(files, 1):.3f} "
          f"peak_rss_mb={engine['horse_rss']:.0f}")


if __name__ == "__main__":
    main()
