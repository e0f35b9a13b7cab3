"""Run the sandbox in a subprocess for tests, demos and benchmarks.

    from sandbox.testing import SandboxServer

    with SandboxServer(config={"rate_limit_spike": 5}) as sb:
        sb.url                      # "http://127.0.0.1:<port>"
        sb.control({"latency_ms": 50})
        tok = sb.token("admin@constructora.test")["access_token"]
        sb.stats()["api_requests"]
        sb.reset()

    SandboxServer(storage_processes=2)   # file bytes from 2 processes of their own (sandbox/core/shared.py)

Config is passed to the child via SANDBOX_CONFIG_JSON (any key of sandbox/core/config.py).
The child's output goes to ``sb.log_path`` (printed on startup failure).
"""
from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import requests

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def free_port(host: str = "127.0.0.1") -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind((host, 0))
        return s.getsockname()[1]


class SandboxServer:
    def __init__(self, port: int | None = None, db_path: str | None = None, config: dict | None = None,
                 env: dict | None = None, host: str = "127.0.0.1", startup_timeout: float = 30.0,
                 reset: bool | None = None, python: str | None = None, storage_processes: int = 0):
        """``reset`` (wipe + re-seed on start) defaults to True for the temporary DB and
        False when you pass your own ``db_path`` (then data survives restarts).
        ``storage_processes`` N > 0: /_storage/ served by N processes on a second port (sandbox/core/shared.py)."""
        self.host = host
        self.port = port or free_port(host)
        self._tmpdir = None
        if db_path is None:
            self._tmpdir = tempfile.mkdtemp(prefix="procore-sandbox-")
            db_path = os.path.join(self._tmpdir, "sandbox.sqlite3")
        self.db_path = db_path
        self.config = dict(config or {})
        self.extra_env = dict(env or {})
        self.startup_timeout = startup_timeout
        self.reset_on_start = (self._tmpdir is not None) if reset is None else reset
        self.python = python or sys.executable
        self.storage_processes = storage_processes
        self.proc: subprocess.Popen | None = None
        self.log_path = os.path.join(os.path.dirname(os.path.abspath(db_path)), f"sandbox-{self.port}.log")
        self._log = None
        self.http = requests.Session()

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    # --- lifecycle ------------------------------------------------------------
    def start(self) -> "SandboxServer":
        env = dict(os.environ)
        env.update(self.extra_env)
        env["PYTHONPATH"] = ROOT + (os.pathsep + env["PYTHONPATH"] if env.get("PYTHONPATH") else "")
        if self.config:
            env["SANDBOX_CONFIG_JSON"] = json.dumps(self.config)
        cmd = [self.python, "-m", "sandbox", "--port", str(self.port), "--host", self.host,
               "--db", self.db_path, "--quiet"]
        if self.reset_on_start:
            cmd.append("--reset")
        if self.storage_processes:
            cmd += ["--storage-processes", str(self.storage_processes)]
        self._log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        deadline = time.time() + self.startup_timeout
        while time.time() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"sandbox exited with {self.proc.returncode}:\n{self.read_log()}")
            try:
                if requests.get(self.url + "/_sandbox/health", timeout=1).ok:
                    return self
            except requests.RequestException:
                pass
            time.sleep(0.1)
        self.stop()
        raise RuntimeError(f"sandbox did not answer within {self.startup_timeout}s:\n{self.read_log()}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=5)
        self.proc = None
        if self._log:
            self._log.close()
            self._log = None
        self.http.close()

    def cleanup(self) -> None:
        self.stop()
        if self._tmpdir:
            shutil.rmtree(self._tmpdir, ignore_errors=True)

    def __enter__(self) -> "SandboxServer":
        return self.start()

    def __exit__(self, *exc) -> None:
        self.cleanup()

    def read_log(self) -> str:
        try:
            with open(self.log_path, encoding="utf-8", errors="replace") as fh:
                return fh.read()[-8000:]
        except OSError:
            return ""

    # --- control API ------------------------------------------------------------
    def _post(self, path: str, body: dict | None = None) -> dict:
        r = self.http.post(self.url + path, json=body or {}, timeout=120)
        r.raise_for_status()
        return r.json()

    def control(self, config: dict) -> dict:
        """Change knobs at runtime (POST /_sandbox/config); returns the full config."""
        return self._post("/_sandbox/config", config)

    def stats(self) -> dict:
        r = self.http.get(self.url + "/_sandbox/stats", timeout=30)
        r.raise_for_status()
        return r.json()

    def reset(self, keep_config: bool = False) -> None:
        self._post("/_sandbox/reset", {"keep_config": keep_config})

    def state(self) -> dict:
        r = self.http.get(self.url + "/_sandbox/state", timeout=30)
        r.raise_for_status()
        return r.json()

    def token(self, login: str = "admin@constructora.test", client_id: str = "demo-client", **kw) -> dict:
        """Token JSON for a user without the browser flow (POST /_sandbox/tokens)."""
        return self._post("/_sandbox/tokens", {"login": login, "client_id": client_id, **kw})

    def advance_clock(self, seconds: float) -> dict:
        return self._post("/_sandbox/clock", {"advance": seconds})

    def events(self, after_id: int = 0, project_id: int | None = None) -> list:
        params = {"after_id": after_id}
        if project_id:
            params["project_id"] = project_id
        r = self.http.get(self.url + "/_sandbox/events", params=params, timeout=30)
        r.raise_for_status()
        return r.json()

    def generate(self, project_id: int, files: int = 100, total_mb: float = 1, folders: int = 10, **kw) -> dict:
        return self._post("/_sandbox/generate", {"project_id": project_id, "files": files,
                                                 "total_mb": total_mb, "folders": folders, **kw})

    # --- lookup helpers ----------------------------------------------------------
    def company_id(self, name: str = "Constructora Demo") -> int:
        return next(c["id"] for c in self.state()["companies"] if c["name"] == name)

    def project_id(self, name: str = "Edificio Los Álamos") -> int:
        return next(p["id"] for c in self.state()["companies"] for p in c["projects"] if p["name"] == name)
