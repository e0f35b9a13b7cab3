"""Run the sandbox: python -m sandbox --port 8765 [--host 127.0.0.1] [--db PATH] [--reset] [--storage-processes N]."""
from __future__ import annotations

import argparse
import logging
import os
import select
import signal
import socket
import subprocess
import sys
import threading
import time


def _threads(value: str) -> int:
    """--threads / SANDBOX_THREADS: a whole number from 1 (argparse prints the message and exits 2)."""
    try:
        number = int(value)
    except ValueError:
        number = 0
    if number < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, not {value!r}")
    return number


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(prog="python -m sandbox", description="Local Procore API sandbox")
    ap.add_argument("--port", type=int, default=int(os.environ.get("SANDBOX_PORT", 8765)))
    ap.add_argument("--host", default=os.environ.get("SANDBOX_HOST", "127.0.0.1"))
    ap.add_argument("--db", default=None, help="SQLite file (default: SANDBOX_DB_PATH or var/sandbox/sandbox.sqlite3)")
    ap.add_argument("--reset", action="store_true", help="wipe the database and blobs, then re-seed")
    ap.add_argument("--public-base-url", default=None, help="absolute base URL used in url fields and Link headers")
    ap.add_argument("--quiet", action="store_true", help="do not log every request")
    ap.add_argument("--storage-processes", type=int, default=0,
                    help="N > 0: serve /_storage/ (signed file bytes, upload storage) from N processes of their "
                         "own on a second port, as Procore's storage is another host (sandbox/core/shared.py)")
    ap.add_argument("--storage-port", type=int, default=0, help="the storage processes' port (default: a free one)")
    ap.add_argument("--threads", type=_threads, default=os.environ.get("SANDBOX_THREADS", "64"),
                    help="requests served at once by each process (every request sleeps latency_ms in its thread; "
                         "default SANDBOX_THREADS or 64)")
    ap.add_argument("--storage-worker", action="store_true", help=argparse.SUPPRESS)  # one storage process
    ap.add_argument("--listen-fd", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--ready-fd", type=int, default=None, help=argparse.SUPPRESS)
    ap.add_argument("--storage-index", type=int, default=None, help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    if args.quiet:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)
    if args.storage_worker:
        return storage_worker(args)

    from .core.app import create_app

    overrides = {}
    if args.db:
        overrides["db_path"] = args.db
    if args.public_base_url:
        overrides["public_base_url"] = args.public_base_url
    if args.reset:
        overrides["seed_on_empty"] = False
    storage_sock = None
    if args.storage_processes > 0:
        storage_sock = socket.create_server((args.host, args.storage_port), backlog=256)
        storage_sock.set_inheritable(True)
        # A comparison, not a bind: the storage URL names loopback when the sandbox listens on every interface.
        url_host = "127.0.0.1" if args.host in ("", "0.0.0.0") else args.host  # noqa: S104  # nosec B104
        overrides["storage_base_url"] = f"http://{url_host}:{storage_sock.getsockname()[1]}"
    app = create_app(overrides)
    st = app.extensions["sandbox"]
    if args.reset:
        with app.app_context():
            from .core.seed import reset_all
            reset_all(seed=True)
        st.config["seed_on_empty"] = st.initial_config["seed_on_empty"] = True
    workers: list[subprocess.Popen] = []
    where = f"Procore sandbox on http://{args.host}:{args.port} (db {st.config['db_path']})"
    if storage_sock is not None:
        from .core.shared import SharedStore
        st.attach_shared(SharedStore(st.config["db_path"], args.storage_processes), "main")
        workers = start_storage_processes(args.storage_processes, storage_sock, st.config["db_path"], args.quiet,
                                          args.threads)
        where += f", storage on {st.config['storage_base_url']} ({args.storage_processes} processes)"
    print(where, file=sys.stderr, flush=True)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    try:
        make_server(app, args, host=args.host, port=args.port).run()
    finally:
        for worker in workers:
            worker.terminate()
        for worker in workers:
            try:
                worker.wait(timeout=10)
            except subprocess.TimeoutExpired:
                worker.kill()
    return 0


def make_server(app, args, **where):
    """A waitress server for ``app`` on ``host``/``port`` or an inherited ``sockets`` list; ``.run()`` serves
    until the process ends.

    Waitress, not werkzeug's development server: werkzeug closes the connection after every answer
    (``Connection: close``), while Procore's front end keeps connections alive, so a client that reuses
    them (requests' pool does) would be measured paying a TCP connection per call that it never pays
    against Procore. Waitress speaks HTTP/1.1 keep-alive and answers on a pool of ``--threads`` threads;
    requests beyond that wait in its queue (they are not refused). Uploads up to 8 GiB are read."""
    from waitress import create_server

    if not args.quiet:
        from flask import request

        access = logging.getLogger("sandbox.access")

        @app.after_request
        def log_request(response):  # werkzeug's development server logged one line per request; so do we
            access.info('"%s %s" %s', request.method, request.full_path.rstrip("?"), response.status_code)
            return response
    return create_server(app, threads=args.threads, connection_limit=1000, max_request_body_size=8 << 30,
                         asyncore_use_poll=True, ident="procore-sandbox", **where)


def start_storage_processes(count: int, sock: socket.socket, db_path: str, quiet: bool,
                            threads: int) -> list[subprocess.Popen]:
    """Start ``count`` storage processes on the listening socket; return once each serves it."""
    ready_r, ready_w = os.pipe()
    cmd = [sys.executable, "-m", "sandbox", "--storage-worker", "--listen-fd", str(sock.fileno()),
           "--ready-fd", str(ready_w), "--db", db_path, "--storage-processes", str(count), "--threads",
           str(threads)] + (["--quiet"] if quiet else [])
    workers = [subprocess.Popen(cmd + ["--storage-index", str(index)], pass_fds=(sock.fileno(), ready_w))
               for index in range(count)]
    os.close(ready_w)
    ready, deadline = b"", time.monotonic() + 60
    while len(ready) < count and time.monotonic() < deadline:
        if select.select([ready_r], [], [], 0.5)[0]:
            chunk = os.read(ready_r, 64)
            if not chunk:
                break  # every storage process closed its end: one died before it was ready
            ready += chunk
    os.close(ready_r)
    if len(ready) < count:
        for worker in workers:
            worker.kill()
        raise RuntimeError(f"{count - len(ready)} of {count} storage processes did not start")
    return workers


def storage_worker(args) -> int:
    """One storage process: the sandbox app in its storage role on the inherited listening socket."""
    from .core.app import create_app
    from .core.shared import SharedStore

    app = create_app({"db_path": args.db, "seed_on_empty": False}, role="storage")
    store = SharedStore(args.db, args.storage_processes, args.storage_index)
    app.extensions["sandbox"].attach_shared(store, "storage")
    server = make_server(app, args, sockets=[socket.socket(fileno=args.listen_fd)])
    parent = os.getppid()

    def orphaned():  # the main process is gone (even killed): so is its storage
        while os.getppid() == parent:
            time.sleep(1)
        os._exit(0)
    threading.Thread(target=orphaned, daemon=True).start()
    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    try:
        os.write(args.ready_fd, b"1")
    except BrokenPipeError:
        return 1  # the main process gave up waiting (or was stopped) before this one was ready
    os.close(args.ready_fd)
    server.run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
