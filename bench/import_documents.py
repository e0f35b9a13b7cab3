"""Procore Documents import: speed within Procore's budget, against a plain downloader, memory, scale-out.

    .venv/bin/python bench/import_documents.py [--files 400] [--mb 200] [--folders 40] [--latency-ms 30]
        [--big-file-mb 1024] [--workers 1] [--engine-threads N] [--plain-threads 8] [--storage-processes 2]
        [--repeat 3] [--skip-budget] [--scale-files 1000] [--scale-mb 50] [--scale-folders 20]
        [--scale-latency-ms 200]

On loopback, in a temporary folder removed at the end: the sandbox (SandboxServer, a threaded server whose
file bytes come from --storage-processes processes of their own on a second port, as Procore's storage is
another host: sandbox/core/shared.py; 0 = the default single process) with a tree from /_sandbox/generate and
`latency_ms` on every request; its mode and the CPU share of all its processes (CPU time / wall / cores)
are printed so it is seen not to be the bottleneck; a portal SQLite DB and embedded Redis; REAL `python worker.py`
processes (RQ forks a work horse per job). The portal runs on its DEFAULT settings throughout
(config.py: adaptive pacing, no fixed rate, 16 download threads); a flag that changes one is printed.
Wall = enqueue -> run row "done"; peak RSS = the work horses' VmHWM (/proc). In one run:

1. budget: the sandbox's default rate limits (100 per 10 s, 3600 per hour, as Procore advertises):
   wall, the floor those limits allow for the API requests the run made, their ratio (target <= 1.2),
   requests per file, 429s met, failed items (target 0).
2. speed: limits off on the sandbox (as a Procore with budget to spare), the same tree imported again
   into a fresh folder, against a plain 8-thread downloader as a script would do it: list the folders
   (one GET each), then fetch every file (token on the Procore URL, the 302 followed by hand without
   Authorization, streamed to a file, no fsync, no database). Target ratio engine/plain <= 0.7. Both
   run --repeat times in turn (default 3: on a 2-core machine one run's figures move by ±10%); every
   ratio is printed, and the median run is the one reported (and the reference of phase 1).
3. memory: one --big-file-mb file imported alone (limits off): peak work-horse RSS (target < 200 MB).
4. with --workers N (N > 1): scale-out, on a latency-bound tree of its own (default 1,000 files, 50 MB,
   200 ms per request: Procore's latency, not this machine's 2 cores, is then the limit, as when workers
   run on machines of their own), limits off: one worker, then N, in turn --repeat times; the speed-up is
   the median one-worker wall over the median N-worker wall (target >= 1.8). The first ~0.4 s of a run
   (the job's start, the permission check beside the first listing read) does not split.

Figures only, never a test. Last line:
`budget_ratio=<wall/floor> ratio=<engine/plain> rest_per_file=<x> peak_rss_mb=<y>` (+ ` speedup=<z>`).
"""
from __future__ import annotations

import argparse
import math
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack
from pathlib import Path
from statistics import median
from urllib.parse import urljoin

import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from bench.portal_setup import ADMIN, admin_with_account, make_app  # noqa: E402 - after the path
from bench.webhook_ingest import pg_schema  # noqa: E402
PROJECT = "Hospital Regional Ñuñoa"
LIST_ENDPOINTS = ("/rest/v1.0/folders", "/rest/v1.0/folders/<int:folder_id>", "/rest/v1.0/files/<int:file_id>",
                  "/rest/v1.0/projects/<int:project_id>/documents", "/rest/v1.0/file_versions/<int:version_id>")
DOWNLOAD_ENDPOINTS = ("/downloads/file_versions/<int:version_id>", "/downloads/prostore_files/<int:prostore_id>")


def parse_args(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--files", type=int, default=400)
    parser.add_argument("--mb", type=float, default=200.0, help="total size of the generated files")
    parser.add_argument("--folders", type=int, default=40)
    parser.add_argument("--latency-ms", type=int, default=30, help="added by the sandbox to every request")
    parser.add_argument("--big-file-mb", type=int, default=1024, help="the memory phase's one file (0: skip it)")
    parser.add_argument("--workers", type=int, default=1,
                        help="N > 1: phase 4, one worker against N on a latency-bound tree (--scale-*)")
    parser.add_argument("--scale-files", type=int, default=1000)
    parser.add_argument("--scale-mb", type=float, default=50.0)
    parser.add_argument("--scale-folders", type=int, default=20)
    parser.add_argument("--scale-latency-ms", type=int, default=200,
                        help="phase 4's latency: Procore answers in 100-300 ms, and neither the sandbox nor the "
                             "2 cores are then the limit")
    parser.add_argument("--engine-threads", type=int, default=None,
                        help="SYNC_DOWNLOAD_THREADS (default: config.py's, 16); printed when set")
    parser.add_argument("--plain-threads", type=int, default=8)
    parser.add_argument("--storage-processes", type=int, default=2,
                        help="the sandbox's storage processes (0: one process serves everything, the sandbox's "
                             "default; one core then caps both sides at about 5.8 s for 400 files)")
    parser.add_argument("--skip-budget", action="store_true", help="skip phase 1 (it takes the longest)")
    parser.add_argument("--database-url", help="PostgreSQL URL: the portal's tables in a schema of their own there, "
                        "dropped at the end (as several machines share one; default a temporary SQLite file)")
    parser.add_argument("--repeat", type=int, default=3,
                        help="phase 2 (engine, then the plain downloader) this many times; the median ratio counts")
    args = parser.parse_args(argv)
    if args.repeat < 1:
        parser.error("--repeat must be at least 1")
    if args.workers > 1 and (args.scale_files < 1 or args.scale_mb <= 0 or args.scale_folders < 0
                             or args.scale_latency_ms < 0):
        parser.error("--scale-files must be at least 1, --scale-mb above 0, --scale-folders and "
                     "--scale-latency-ms at least 0")
    if args.database_url and not args.database_url.startswith(("postgresql://", "postgres://")):
        parser.error("--database-url must be a postgresql:// URL (the default is a temporary SQLite file)")
    return args


def portal_settings(work: Path, sb_url: str, threads: int | None, database_url: str | None = None) -> dict:
    """The portal's settings: config.py's defaults except where the bench must put things (paths, URLs)."""
    settings = {"PORTAL_ENV": "development", "INSTANCE_DIR": str(work / "instance"),
                "STORAGE_DIR": str(work / "storage"), "DATABASE_URL": database_url or f"sqlite:///{work / 'portal.db'}",
                "PROCORE_API_URL": sb_url, "PROCORE_LOGIN_URL": sb_url}
    for key in ("PROCORE_REQUESTS_PER_SECOND", "PROCORE_BURST", "PROCORE_RESERVE_SHARE", "SYNC_DOWNLOAD_THREADS",
                "SYNC_BATCH_FILES", "STORAGE_URL"):
        os.environ.pop(key, None)  # the shell's settings never leak into what the bench calls defaults
    if threads:
        settings["SYNC_DOWNLOAD_THREADS"] = str(threads)
    return settings


def make_integration(app, sb, folder_ids: list[int], label: str) -> tuple[int, int]:
    """A company, an admin with a Procore account (a sandbox token), a cBox project, an integration
    of the folders and its import run (committed, not enqueued). `label` keeps each phase apart."""
    from portal.cbox import store
    from portal.extensions import db
    from portal.sync import gate, service

    with app.app_context():
        company, user, account = admin_with_account(sb, sb.company_id(), label)
        documents = store.categorized_folder(store.create_project(company.id, f"Bench {label}"), "documents")
        db.session.flush()
        project = gate.Verdict(sb.project_id(PROJECT), PROJECT)
        integration, run = service.create_integration(user, account, documents, project, folder_ids, [])
        db.session.commit()
        return integration.id, run.id


def start_worker(settings: dict, work: Path, redis_url: str, name: str) -> subprocess.Popen:
    env = {**os.environ, **settings, "REDIS_URL": redis_url}
    log = open(work / f"{name}.log", "wb")
    worker = subprocess.Popen([sys.executable, "worker.py"], cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    deadline = time.time() + 60
    while time.time() < deadline:
        if worker.poll() is not None:
            raise RuntimeError("worker exited:\n" + (work / f"{name}.log").read_text(errors="replace")[-3000:])
        if b"listening on" in (work / f"{name}.log").read_bytes():
            return worker
        time.sleep(0.1)
    raise RuntimeError("the worker did not start")


def stop_workers(workers: list[subprocess.Popen]) -> None:
    import psutil

    for worker in workers:
        try:
            for child in psutil.Process(worker.pid).children(recursive=True):
                child.kill()
        except psutil.Error:
            pass
        worker.kill()
        worker.wait()


def hwm_mb(pid: int) -> float:
    """Peak resident set size (VmHWM) of a live process, in MB; 0 when it is gone."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


def run_engine(app, run_id: int, workers: list[subprocess.Popen], sb) -> dict:
    """Enqueue the run and wait for its row to finish, sampling the work horses' peak RSS and CPU."""
    import psutil

    from portal.extensions import db
    from portal.models import SyncRun
    from portal.sync.jobs import enqueue

    parents = {worker.pid for worker in workers}
    peaks: dict[int, float] = {}
    cpu: dict[int, float] = {}  # CPU seconds (user + system) of each process, last sample
    sb._post("/_sandbox/stats/reset")
    sandbox_cpu = cpu_seconds(sb)
    with app.app_context():
        started = time.perf_counter()
        enqueue(db.session.get(SyncRun, run_id))
        while True:
            for worker in workers:
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
                  "failed": run.failed, "error": run.error,
                  "horse_rss": max((mb for pid, mb in peaks.items() if pid not in parents), default=0.0),
                  "horse_cpu": sum(seconds for pid, seconds in cpu.items() if pid not in parents),
                  "sandbox_cpu": cpu_seconds(sb) - sandbox_cpu, "stats": sb.stats()}
        db.session.remove()
    if result["status"] != "done" or result["failed"]:
        print(f"  the run ended {result['status']} with {result['failed']} failures: {result['error']}")
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


def plain_wall(plain: dict) -> float:
    return plain["listing"] + plain["download"]


def run_plain_phase(args, sb, token: str, project_id: int, folder_id: int, work: Path) -> dict:
    """The plain downloader on the same tree: its listing, then its downloads, timed, with the CPU used."""
    sb._post("/_sandbox/stats/reset")
    sandbox_cpu, own_cpu = cpu_seconds(sb), cpu_seconds(None)
    started = time.perf_counter()
    urls = download_urls(sb, token, sb.company_id(), project_id, [folder_id])
    listing = time.perf_counter() - started
    plain = {"listing": listing, "download": run_plain(urls, token, args.plain_threads, work / "plain"),
             "files": len(urls), "sandbox_cpu": cpu_seconds(sb) - sandbox_cpu,
             "client_cpu": cpu_seconds(None) - own_cpu}
    shutil.rmtree(work / "plain", ignore_errors=True)
    return plain


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
    sb = SandboxServer(db_path=str(work / "sandbox.sqlite3"), reset=True, storage_processes=args.storage_processes,
                       startup_timeout=120)
    workers: list[subprocess.Popen] = []
    cleanup = ExitStack()
    try:
        os.chdir(ROOT)
        database_url = None
        if args.database_url:
            database_url = cleanup.enter_context(pg_schema(args.database_url.replace("postgres://", "postgresql://", 1),
                                                           prefix="import_bench"))
        sb.start()
        config = sb.control({})
        limits = {key: value for key, value in config.items() if key.startswith("rate_limit")}
        print(f"sandbox: {sandbox_mode(args, config)}; {os.cpu_count()} cores on this machine", flush=True)
        project_id = sb.project_id(PROJECT)
        tree = sb.generate(project_id, files=args.files, total_mb=args.mb, folders=args.folders, seed=1)
        big = (sb.generate(project_id, files=1, total_mb=args.big_file_mb, folders=0, seed=2)
               if args.big_file_mb else None)
        print(f"sandbox tree: {tree['files']} files, {tree['bytes'] / 1e6:.1f} MB, {tree['folders']} folders; "
              f"latency {args.latency_ms} ms per request", flush=True)
        settings = portal_settings(work, sb.url, args.engine_threads, database_url)
        print("portal settings: config.py defaults" + (f", SYNC_DOWNLOAD_THREADS={args.engine_threads}"
                                                         if args.engine_threads else "") + " (changed: none else); "
              + ("database: a schema in " + args.database_url.split("@")[-1] if database_url else
                 "database: a temporary SQLite file"))
        app = make_app(settings)
        redis_url = app.config["REDIS_URL"]
        workers.append(start_worker(settings, work, redis_url, "worker-1"))
        sb.control({"latency_ms": args.latency_ms})
        storage = work / "storage"
        figures: dict = {}

        def phase(label: str, folder_ids: list[int], crew: list[subprocess.Popen]) -> dict:
            shutil.rmtree(storage / "blobs", ignore_errors=True)  # every phase downloads and stores for real
            _integration_id, run_id = make_integration(app, sb, folder_ids, label)
            return run_engine(app, run_id, crew, sb)

        if not args.skip_budget:
            sb.control({**limits})
            figures["budget"] = phase("budget", [tree["folder_id"]], workers)
        sb.control({"rate_limit_spike": 0, "rate_limit_hourly": 0})
        token = sb.token(ADMIN)["access_token"]
        pairs = []  # (engine, plain) of each repetition: the figures move by ±10% from one run to the next
        for number in range(args.repeat):
            engine = phase(f"speed {number + 1}", [tree["folder_id"]], workers)
            pairs.append((engine, run_plain_phase(args, sb, token, project_id, tree["folder_id"], work)))
        pairs.sort(key=lambda pair: pair[0]["wall"] / plain_wall(pair[1]))
        speed, plain = pairs[(len(pairs) - 1) // 2]  # the median run by ratio (the lower one if even)
        figures["speed"] = speed
        if "budget" in figures:
            report_budget(figures["budget"], limits, speed["wall"])
        report_speed(args, speed, plain, pairs)
        if big:
            memory = figures["memory"] = phase("memory", [big["folder_id"]], workers)
            print(f"3. memory: one {args.big_file_mb} MiB file in {memory['wall']:.1f} s "
                  f"({memory['bytes'] / 1e6 / memory['wall']:.0f} MB/s, {memory['status']}); "
                  f"peak work-horse RSS {memory['horse_rss']:.0f} MB (target < 200)", flush=True)
        if args.workers > 1:
            figures["scale_out"], figures["speedup"] = scale_out(
                args, sb, project_id, phase, workers,
                lambda: [start_worker(settings, work, redis_url, f"worker-{number}")
                         for number in range(2, args.workers + 1)])
        last_line(args, figures, plain, limits)
    finally:
        stop_workers(workers)
        sb.cleanup()
        cleanup.close()
        shutil.rmtree(work, ignore_errors=True)


def scale_out(args, sb, project_id: int, phase, workers: list, start_others) -> tuple[dict, float]:
    """Phase 4 on a tree of its own at --scale-latency-ms: one worker, then N (the others started for the run
    and stopped after it), in turn --repeat times; the speed-up is the median one-worker wall over the median
    N-worker wall. In turn, so a machine that slows down for a minute weighs on both sides alike.
    Returns the run whose work horses peaked highest (for peak_rss_mb) and the speed-up."""
    tree = sb.generate(project_id, files=args.scale_files, total_mb=args.scale_mb, folders=args.scale_folders, seed=3)
    sb.control({"latency_ms": args.scale_latency_ms})
    print(f"4. scale-out on a latency-bound tree of its own: {tree['files']} files, {tree['bytes'] / 1e6:.1f} MB, "
          f"{tree['folders']} folders, {args.scale_latency_ms} ms per request (--scale-files, --scale-mb, "
          f"--scale-folders, --scale-latency-ms), limits off; 1 worker then {args.workers}, {args.repeat} times",
          flush=True)
    ones, crews = [], []
    try:
        for number in range(args.repeat):
            ones.append(phase(f"scale-out 1 worker {number + 1}", [tree["folder_id"]], workers))
            others = start_others()
            try:
                crews.append(phase(f"scale-out {args.workers} workers {number + 1}", [tree["folder_id"]],
                                   workers + others))
            finally:
                stop_workers(others)
    finally:
        sb.control({"latency_ms": args.latency_ms})
    one, crew = median(run["wall"] for run in ones), median(run["wall"] for run in crews)
    median_crew = sorted(crews, key=lambda run: run["wall"])[(len(crews) - 1) // 2]
    print("   1 worker: " + ", ".join(f"{run['wall']:.2f}" for run in ones) + f" s; {args.workers} workers: "
          + ", ".join(f"{run['wall']:.2f}" for run in crews) + " s", flush=True)
    print(f"   medians: 1 worker {one:.2f} s ({tree['files'] / one:.1f} files/s), {args.workers} workers "
          f"{crew:.2f} s ({tree['files'] / crew:.1f} files/s): speed-up {one / crew:.2f} (target >= 1.8); "
          f"{sum(run['failed'] for run in ones + crews)} failed; sandbox CPU "
          f"{share(median_crew['sandbox_cpu'], median_crew['wall'])} with {args.workers} workers", flush=True)
    return max(ones + crews, key=lambda run: run["horse_rss"]), one / crew


def sandbox_mode(args, config: dict) -> str:
    if not args.storage_processes:
        return "one threaded process (--storage-processes 0)"
    return (f"a threaded main process (REST, OAuth, rate limits) + {args.storage_processes} threaded storage "
            f"processes on {config['storage_base_url']} (--storage-processes {args.storage_processes})")


def cpu_seconds(sb) -> float:
    """User + system CPU seconds the sandbox (its main process and its storage processes) has used so far;
    ``None``: this process (the plain downloader's)."""
    import psutil

    procs = [psutil.Process()] if sb is None else [psutil.Process(sb.proc.pid)] + psutil.Process(
        sb.proc.pid).children(recursive=True)
    return sum(sum(proc.cpu_times()[:2]) for proc in procs)


def share(seconds: float, wall: float) -> str:
    """CPU time / wall / cores, and the same in cores."""
    cores = os.cpu_count() or 1
    return f"{100 * seconds / max(wall, 1e-9) / cores:.0f}% of {cores} cores ({seconds / max(wall, 1e-9):.2f} cores)"


def counted(stats: dict) -> tuple[int, int, int]:
    """(list/show REST calls, download calls, every API request the rate limiter counted)."""
    endpoints = stats["endpoints"]
    rest = sum(endpoints.get(name, 0) for name in LIST_ENDPOINTS)
    downloads = sum(endpoints.get(name, 0) for name in DOWNLOAD_ENDPOINTS)
    return rest, downloads, stats["api_requests"]


def budget_floor(requests_made: int, limits: dict, unlimited_wall: float) -> float:
    """The least time Procore's advertised windows allow for `requests_made` requests: the first window's
    worth go at once, every further window's worth waits for the next window; never less than the same
    import took with no limits at all (phase 2)."""
    floors = [unlimited_wall]
    for window in ("spike", "hourly"):
        limit, length = limits.get(f"rate_limit_{window}"), limits.get(f"rate_limit_{window}_window")
        if limit and length:
            floors.append((math.ceil(requests_made / limit) - 1) * length)
    return max(floors)


def report_budget(engine: dict, limits: dict, unlimited_wall: float) -> None:
    rest, downloads, api = counted(engine["stats"])
    floor = budget_floor(api, limits, unlimited_wall)
    engine["floor"], engine["api"] = floor, api
    files = max(engine["files"], 1)
    print(f"1. budget (sandbox limits {limits['rate_limit_spike']} per {limits['rate_limit_spike_window']} s, "
          f"{limits['rate_limit_hourly']} per {limits['rate_limit_hourly_window']} s): {engine['wall']:.1f} s for "
          f"{api} API requests, floor {floor:.1f} s (the windows', or phase 2's wall if longer), "
          f"ratio {engine['wall'] / max(floor, 1e-9):.2f} (target <= 1.2); "
          f"{(rest + downloads) / files:.2f} requests per file ({rest / files:.3f} list/show + "
          f"{downloads / files:.2f} download); 429s met {engine['stats']['rate_limited_429']}; "
          f"{engine['files']} files, {engine['failed']} failed; "
          f"sandbox CPU {share(engine['sandbox_cpu'], engine['wall'])}",
          flush=True)


def report_speed(args, engine: dict, plain: dict, pairs: list) -> None:
    if len(pairs) > 1:
        print(f"2. with limits off, {len(pairs)} times (engine, then the plain downloader): ratios "
              + ", ".join(f"{e['wall'] / plain_wall(p):.2f} ({e['wall']:.2f} s / {plain_wall(p):.2f} s)"
                          for e, p in pairs) + "; the median run:", flush=True)
    rest, downloads, _api = counted(engine["stats"])
    files, mb = engine["files"], engine["bytes"] / 1e6
    total = plain_wall(plain)
    print(("   " if len(pairs) > 1 else "2. with limits off: ") + "the portal against the plain "
          f"{args.plain_threads}-thread downloader: engine {engine['wall']:.2f} s {files / engine['wall']:.1f} files/s "
          f"{mb / engine['wall']:.1f} MB/s ({files} files, {engine['failed']} failed; sandbox CPU "
          f"{share(engine['sandbox_cpu'], engine['wall'])}, work horse CPU {engine['horse_cpu']:.1f} s)", flush=True)
    print(f"   plain {args.plain_threads}-thread downloader {total:.2f} s (listing {plain['listing']:.2f} s, then "
          f"downloading {plain['download']:.2f} s; sandbox CPU {share(plain['sandbox_cpu'], total)}, its own "
          f"CPU {share(plain['client_cpu'], total)}): "
          f"ratio {engine['wall'] / total:.2f} (target <= 0.7), against its downloading alone "
          f"{engine['wall'] / plain['download']:.2f}; REST list/show per file {rest / max(files, 1):.3f}, "
          f"download {downloads / max(files, 1):.2f}", flush=True)


def last_line(args, figures: dict, plain: dict, limits: dict) -> None:
    speed = figures["speed"]
    rest, downloads, _api = counted(speed["stats"])
    budget = figures.get("budget")
    parts = [f"budget_ratio={budget['wall'] / max(budget['floor'], 1e-9):.2f}" if budget else "budget_ratio=skipped",
             f"ratio={speed['wall'] / plain_wall(plain):.2f}",
             f"rest_per_file={(rest + downloads) / max(speed['files'], 1):.3f}",
             f"peak_rss_mb={max(phase['horse_rss'] for key, phase in figures.items() if key != 'speedup'):.0f}"]
    if "speedup" in figures:
        parts.append(f"speedup={figures['speedup']:.2f}")
    print(" ".join(parts))


if __name__ == "__main__":
    main()
