"""Outbound webhook dispatcher: events table -> queued jobs -> HTTP POSTs.

One daemon thread per app (started by ``sandbox.webhooks.routes.init_app``), woken by
``sandbox.core.events.add_listener`` after every commit that recorded events, and at least
every 0.5 s (so clock time travel and config changes are picked up).  Every step:

1. **Ingest**: events with id > the cursor stored in ``sandbox_meta``
   (``webhooks_event_cursor``) become ``webhook_jobs`` rows, one per matching hook:
   project hooks of the event's project, company hooks of its company, having a trigger
   with the same (resource_name, event_type), the hook's scope and api_version, and a
   trigger id lower than the event id (a trigger never receives older events).
   The payload (v2.0/v3.0/v4.0) is built once here, so retries and duplicates carry the
   same id/ulid.  Fault knobs act here: ``webhook_drop_rate`` (job stored as
   ``dropped``, never sent), ``webhook_duplicate_rate`` (a second identical job right
   behind), ``webhook_delay_ms`` (job not sent before created + delay).
2. **Plan**, per destination URL (Procore's unit of pausing): only the oldest queued job
   (the head) may be sent, one request in flight per URL, so delivery is in order.
   A failing URL (``webhook_endpoints`` row) waits until ``next_attempt_at``.  When it has
   been failing for DISCARD_AFTER (12 h) every queued job for it is discarded and the
   counters reset, so the next event starts a fresh cycle.
3. **Send** (worker pool, outside any DB transaction): POST the JSON with
   ``Content-Type: application/json`` and the hook's Authorization, ``webhook_timeout``
   seconds, no redirects.  2xx = success; anything else, a timeout or a connection error
   = failure.  Hosts under ``webhook_unreachable_domains`` are never contacted (a
   connection error is simulated).
4. **Record** the attempt (``webhook_deliveries``): success -> job delivered, the URL's
   failure counters reset (the queue drains in order); failure -> failures += 1,
   next_attempt_at = now + min(1 s * 2^(failures-1), 1 h), all scaled by
   ``webhook_time_scale``; the failed job stays at the head.

All times come from ``sandbox.core.clock.now()`` (so ``POST /_sandbox/clock`` time travel
works) and every durable fact lives in SQLite: after a restart the cursor, queue and
backoff state are read back and delivery resumes (at least once: a request in flight
when the process died is sent again).  ``sandbox_state().lock`` is held around every DB
step so ``POST /_sandbox/reset`` (which drops the tables) never races the dispatcher;
results of requests that were in flight across a reset are ignored.
"""
from __future__ import annotations

import http.client
import json
import logging
import random
import socket
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import urlsplit

from sqlalchemy import func, select, update

from ..core import clock, events
from ..core.db import get_meta, session_scope, set_meta
from ..core.events import Event, events_after
from .models import (BACKOFF_INITIAL, BACKOFF_MAX, DISCARD_AFTER, RESPONSE_BODY_LIMIT, WebhookDelivery,
                              WebhookEndpoint, WebhookHook, WebhookJob, WebhookTrigger, build_payload)

log = logging.getLogger("sandbox.webhooks")

CURSOR_KEY = "webhooks_event_cursor"
MAX_IDLE_WAIT = 0.5
USER_AGENT = "Procore-Webhooks (cbox sandbox)"


def _scale(cfg) -> float:
    s = float(cfg.get("webhook_time_scale") or 1.0)
    return s if s > 0 else 1.0


def backoff_interval(failures: int, cfg) -> float:
    return min(BACKOFF_INITIAL * 2 ** max(failures - 1, 0), BACKOFF_MAX) / _scale(cfg)


def discard_window(cfg) -> float:
    return DISCARD_AFTER / _scale(cfg)


class _Unreachable(OSError):
    pass


def _unreachable(host: str, cfg) -> bool:
    host = (host or "").lower().rstrip(".")
    return any(host == d or host.endswith("." + d) for d in (cfg.get("webhook_unreachable_domains") or []))


def http_post(url: str, body: bytes, headers: dict, timeout: float, cfg) -> tuple[int, dict, str]:
    """POST without following redirects. Returns (status, headers, body text)."""
    parts = urlsplit(url)
    if _unreachable(parts.hostname, cfg):
        raise _Unreachable(f"could not connect to {parts.hostname} "
                           "(sandbox: domain in webhook_unreachable_domains, never contacted)")
    cls = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
    conn = cls(parts.hostname, parts.port, timeout=timeout)
    path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    try:
        conn.request("POST", path, body=body, headers=headers)
        resp = conn.getresponse()
        raw = resp.read(RESPONSE_BODY_LIMIT * 4 + 1)
        hdrs: dict = {}
        for k, v in resp.getheaders():
            hdrs[k] = f"{hdrs[k]}, {v}" if k in hdrs else v
        return resp.status, hdrs, raw.decode("utf-8", "replace")[:RESPONSE_BODY_LIMIT]
    finally:
        conn.close()


def mark_last_attempt_failed(s, job_ids) -> None:
    """The last attempt of a job that will not be retried any more: retried -> failed."""
    if not job_ids:
        return
    last = (select(func.max(WebhookDelivery.id)).where(WebhookDelivery.job_id.in_(job_ids))
            .group_by(WebhookDelivery.job_id))
    s.execute(update(WebhookDelivery).where(WebhookDelivery.id.in_(last), WebhookDelivery.outcome == "retried")
              .values(outcome="failed"))


class Dispatcher:
    def __init__(self, app):
        self.app = app
        self.st = app.extensions["sandbox"]
        self.wake = threading.Event()
        self.stop_flag = threading.Event()
        self.lock = threading.Lock()
        self.inflight: dict[str, int] = {}      # destination URL -> job id
        self.pool = ThreadPoolExecutor(max_workers=16, thread_name_prefix="webhook-send")
        self.thread: threading.Thread | None = None
        self.last_error: str | None = None

    # --- lifecycle -------------------------------------------------------------------
    def start(self) -> None:
        if self.thread is not None:
            return
        events.add_listener(self._on_events)
        self.thread = threading.Thread(target=self._run, name="webhook-dispatcher", daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.stop_flag.set()
        self.wake.set()
        events.remove_listener(self._on_events)

    def _on_events(self, _payload) -> None:
        self.wake.set()

    def _run(self) -> None:
        with self.app.app_context():
            while not self.stop_flag.is_set():
                self.wake.clear()
                try:
                    delay = self.step()
                    self.last_error = None
                except Exception as e:  # tables being dropped by a reset, locked DB, bugs
                    self.last_error = repr(e)
                    log.debug("webhook dispatcher step failed: %r", e)
                    delay = 0.2
                self.wake.wait(max(0.0, min(delay, MAX_IDLE_WAIT)))

    # --- one step ------------------------------------------------------------------------
    def step(self) -> float:
        cfg = self.st.config
        if not cfg.get("webhooks_enabled", True):
            return MAX_IDLE_WAIT
        engine = self.st.engine
        with self.st.lock:
            for _ in range(20):  # ingest in batches, bounded per step
                with session_scope(engine, write=False) as s:
                    cursor = int(get_meta(s, CURSOR_KEY) or 0)
                    newest = s.scalar(select(func.max(Event.id))) or 0
                if newest <= cursor:
                    break
                with session_scope(engine, write=True) as s:
                    self._ingest(s, cfg)
            now = clock.now()
            with session_scope(engine, write=False) as s:
                sends, discards, next_wake = self._plan(s, now, cfg)
            if discards:
                with session_scope(engine, write=True) as s:
                    for url in discards:
                        self._discard_if_expired(s, url, clock.now(), cfg)
                next_wake = 0.0
        for job, url, headers in sends:
            with self.lock:
                if url in self.inflight:
                    continue
                self.inflight[url] = job.id
            self.pool.submit(self._deliver, job.id, job.created_at, url, headers, job.payload)
        return next_wake

    def _ingest(self, s, cfg) -> None:
        cursor = int(get_meta(s, CURSOR_KEY) or 0)
        evs = events_after(s, cursor, limit=500)
        if not evs:
            return
        hooks = list(s.scalars(select(WebhookHook)))
        triggers: dict[int, list] = {}
        for t in s.scalars(select(WebhookTrigger)):
            triggers.setdefault(t.hook_id, []).append(t)
        now = clock.now()
        delay = max(0.0, float(cfg.get("webhook_delay_ms") or 0) / 1000.0)
        drop, dup = float(cfg.get("webhook_drop_rate") or 0), float(cfg.get("webhook_duplicate_rate") or 0)
        for ev in evs:
            for hook in hooks:
                if not self._hook_matches(hook, ev, triggers.get(hook.id, ())):
                    continue
                payload = json.dumps(build_payload(ev, hook.api_version), ensure_ascii=False)
                if drop and random.random() < drop:
                    s.add(WebhookJob(hook_id=hook.id, event_id=ev.id, payload=payload, status="dropped",
                                     attempts=0, not_before=now, created_at=now, done_at=now))
                    self.st.stats.incr("webhook_dropped")
                    continue
                s.add(WebhookJob(hook_id=hook.id, event_id=ev.id, payload=payload, status="queued",
                                 attempts=0, not_before=now + delay, created_at=now))
                if dup and random.random() < dup:
                    s.add(WebhookJob(hook_id=hook.id, event_id=ev.id, payload=payload, status="queued",
                                     attempts=0, not_before=now + delay, created_at=now, duplicate=True))
                s.flush()  # keep job ids in event order
        set_meta(s, CURSOR_KEY, str(evs[-1].id))

    @staticmethod
    def _hook_matches(hook: WebhookHook, ev: Event, triggers) -> bool:
        if hook.project_id is not None:
            if ev.project_id != hook.project_id:
                return False
        elif ev.company_id != hook.company_id:
            return False
        t_company = hook.company_id if hook.project_id is None else None
        return any(t.resource_name == ev.resource_name and t.event_type == ev.event_type
                   and t.api_version == hook.api_version and t.id < ev.id
                   and t.project_id == hook.project_id and t.company_id == t_company
                   for t in triggers)

    def _plan(self, s, now: float, cfg):
        """-> (sends [(job, url, headers)], urls to discard, seconds until next due)."""
        heads = s.execute(select(WebhookHook.destination_url, func.min(WebhookJob.id))
                          .join(WebhookHook, WebhookHook.id == WebhookJob.hook_id)
                          .where(WebhookJob.status == "queued")
                          .group_by(WebhookHook.destination_url)).all()
        failing = {e.url: e for e in s.scalars(select(WebhookEndpoint)
                                               .where(WebhookEndpoint.failing_since.is_not(None)))}
        window = discard_window(cfg)
        sends, discards, next_wake = [], [], MAX_IDLE_WAIT
        with self.lock:
            busy = set(self.inflight)
        for url, job_id in heads:
            ep = failing.pop(url, None)
            if url in busy:
                continue
            if ep is not None and now >= ep.failing_since + window:
                discards.append(url)
                continue
            job = s.get(WebhookJob, job_id)
            due = job.not_before
            if ep is not None:
                due = max(due, ep.next_attempt_at or 0.0)
                next_wake = min(next_wake, ep.failing_since + window - now)
            if due <= now:
                hook = s.get(WebhookHook, job.hook_id)
                headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT}
                if hook.authorization is not None:
                    headers["Authorization"] = hook.authorization
                sends.append((job, url, headers))
            else:
                next_wake = min(next_wake, due - now)
        for url, ep in failing.items():  # failing endpoints with an empty queue
            if url not in busy and now >= ep.failing_since + window:
                discards.append(url)
        return sends, discards, next_wake

    # --- delivery ----------------------------------------------------------------------------
    def _deliver(self, job_id, job_created_at, url, headers, payload) -> None:
        try:
            with self.app.app_context():
                cfg = self.st.config
                started = clock.now()
                status = rheaders = rbody = error = None
                try:
                    status, rheaders, rbody = http_post(url, payload.encode("utf-8"), headers,
                                                        float(cfg.get("webhook_timeout") or 5.0), cfg)
                except (socket.timeout, TimeoutError):
                    error = f"Timeout: no response within {cfg.get('webhook_timeout')} s"
                except (OSError, http.client.HTTPException) as e:
                    error = f"Connection error: {e}"
                completed = clock.now()
                with self.st.lock, session_scope(self.st.engine, write=True) as s:
                    self._record(s, cfg, job_id, job_created_at, url, payload, started, completed,
                                 status, rheaders, rbody, error)
        except Exception as e:
            self.last_error = repr(e)
            log.debug("recording a webhook delivery failed: %r", e)
        finally:
            with self.lock:
                if self.inflight.get(url) == job_id:
                    del self.inflight[url]
            self.wake.set()

    def _record(self, s, cfg, job_id, job_created_at, url, payload, started, completed,
                status, rheaders, rbody, error) -> None:
        job = s.get(WebhookJob, job_id)
        if job is None or job.created_at != job_created_at or job.status != "queued":
            return  # reset, hook deleted or job discarded meanwhile
        ok = status is not None and 200 <= status < 300
        if status is not None and not ok and error is None:
            error = f"Non-2xx response: {status}"
        d = WebhookDelivery(hook_id=job.hook_id, job_id=job.id, event_id=job.event_id, destination_url=url,
                            payload=payload, outcome="ok" if ok else "retried", response_status=status,
                            response_headers=json.dumps(rheaders) if rheaders is not None else None,
                            response_body=rbody, response_error=None if ok else error,
                            started_at=started, completed_at=completed)
        s.add(d)
        job.attempts += 1
        ep = s.get(WebhookEndpoint, url)
        if ep is None:
            ep = WebhookEndpoint(url=url, failures=0)
            s.add(ep)
        if ok:
            job.status, job.done_at = "delivered", completed
            ep.failures, ep.failing_since, ep.next_attempt_at, ep.last_error = 0, None, None, None
            self.st.stats.incr("webhook_deliveries_ok")
            if job.duplicate:
                self.st.stats.incr("webhook_duplicates_sent")
            return
        self.st.stats.incr("webhook_deliveries_failed")
        ep.failures = (ep.failures or 0) + 1
        if ep.failing_since is None:
            ep.failing_since = started
        ep.next_attempt_at = completed + backoff_interval(ep.failures, cfg)
        ep.last_error = error
        s.flush()
        self._discard_if_expired(s, url, completed, cfg)

    def _discard_if_expired(self, s, url, now, cfg) -> int:
        ep = s.get(WebhookEndpoint, url)
        if ep is None or ep.failing_since is None or now < ep.failing_since + discard_window(cfg):
            return 0
        # A request still in flight for this URL finds its job discarded and is ignored.
        jobs = list(s.scalars(select(WebhookJob).join(WebhookHook, WebhookHook.id == WebhookJob.hook_id)
                              .where(WebhookJob.status == "queued", WebhookHook.destination_url == url)
                              .order_by(WebhookJob.id)))
        mark_last_attempt_failed(s, [j.id for j in jobs])
        reason = (f"Discarded: {url} kept failing for 12 h (scaled by webhook_time_scale); "
                  f"last error: {ep.last_error}")
        for j in jobs:
            j.status, j.done_at = "discarded", now
            s.add(WebhookDelivery(hook_id=j.hook_id, job_id=j.id, event_id=j.event_id, destination_url=url,
                                  payload=j.payload, outcome="discarded", response_error=reason,
                                  started_at=now, completed_at=now))
        ep.failures, ep.failing_since, ep.next_attempt_at = 0, None, None
        if jobs:
            self.st.stats.incr("webhook_discarded", len(jobs))
        return len(jobs)

    # --- introspection (control API) ----------------------------------------------------------
    def snapshot(self) -> dict:
        cfg = self.st.config
        with session_scope(self.st.engine, write=False) as s:
            cursor = int(get_meta(s, CURSOR_KEY) or 0)
            newest = s.scalar(select(func.max(Event.id))) or 0
            queued = s.scalar(select(func.count()).select_from(WebhookJob)
                              .where(WebhookJob.status == "queued")) or 0
            sends, discards, next_wake = self._plan(s, clock.now(), cfg)
        with self.lock:
            inflight = len(self.inflight)
        return {"enabled": bool(cfg.get("webhooks_enabled", True)), "event_cursor": cursor,
                "newest_event_id": newest, "pending_events": newest > cursor, "queued": queued,
                "due": len(sends) + len(discards), "inflight": inflight,
                "next_due_in": round(next_wake, 3), "last_error": self.last_error}

    def wait_idle(self, timeout: float, mode: str = "empty") -> dict:
        """Block until nothing is left to do (mode "empty": no queued job at all; "due":
        nothing due now, jobs waiting in backoff are ignored)."""
        deadline = time.monotonic() + timeout
        while True:
            self.wake.set()
            try:
                snap = self.snapshot()
            except Exception as e:
                snap = {"error": repr(e), "enabled": True}
            if "error" not in snap:
                busy = snap["pending_events"] or snap["inflight"] or (
                    snap["queued"] if mode == "empty" else snap["due"])
                if not busy or not snap["enabled"]:
                    snap["idle"] = not busy
                    return snap
            if time.monotonic() >= deadline:
                snap["idle"] = False
                return snap
            time.sleep(0.02)


def get_dispatcher(app=None) -> Dispatcher | None:
    if app is None:
        from flask import current_app
        app = current_app
    return app.extensions.get("sandbox_webhooks")
