"""Request pacing shared by every worker and web request that uses the same Procore account.

Procore grants a budget and says how much is left: every response carries X-Rate-Limit-Limit /
-Remaining / -Reset (unix seconds) for whichever window (10 s spike or hourly) is closest to
exhaustion, and its docs say not to hard-code the numbers (procore-api.md §7). So the budget is
spent as Procore grants it (issue 13, SPEC D2), keyed by a hash of the credential's
``account_key`` (never a token), in Redis when available, else in-process:

* While the window has room, requests go as fast as the callers send them.
* Once less than ``spread_below`` (a quarter) of the window is left, what is left is spread evenly over the
  time to Reset (GCRA spacing with that interval), so an import keeps flowing instead of
  hitting a 429 and stopping dead; no slot lies beyond the Reset (the window has room again then).
* Background work stops ``reserve_share`` of the window short: web requests (``interactive``:
  health cells, trees, the import pages) keep that share, so an import never starves a page.
  At ``low_water`` everyone waits for the Reset (with jitter); a wait longer than ``max_wait`` is
  not slept: ProcoreRateLimited(retry_after=...) lets the job go back to the queue.
* Each reserved request counts against the stored Remaining at once (requests in flight have not
  answered yet); every response then corrects it (the lowest Remaining for one Reset wins,
  since answers arrive out of order).
* ``rate`` (requests per second, with ``burst``) is an operator's ceiling, off by default.

One Redis round trip per request: the last response's headers ride along with the next
reservation in one script. Clocks: the caller's clock (not Redis TIME) so tests can inject a fake
one; production hosts are NTP-synchronised, and skew only shifts slots.
"""
from __future__ import annotations

import hashlib
import logging
import math
import random
import threading
import time
from typing import Any, Callable

from redis.exceptions import RedisError

from . import _http
from .errors import ProcoreRateLimited

log = logging.getLogger(__name__)

# Before a request, one round trip: record the caller's last observed headers, read the window, and
# unless it is spent down to this caller's floor, reserve a slot. Returns {'reset', seconds to Reset}
# (nothing reserved) or {'slot', delay}.
_BEFORE_LUA = """
local now = tonumber(ARGV[1])
if ARGV[7] ~= '' then
  local seen_remaining, seen_reset, seen_limit = tonumber(ARGV[7]), ARGV[8], ARGV[9]
  local cur = redis.call('HMGET', KEYS[2], 'reset', 'remaining')
  if not (cur[1] == seen_reset and cur[2] and tonumber(cur[2]) <= seen_remaining) then
    redis.call('HSET', KEYS[2], 'remaining', seen_remaining, 'reset', seen_reset, 'limit', seen_limit)
    redis.call('EXPIRE', KEYS[2], ARGV[10])
  end
end
local interval = tonumber(ARGV[2])
local tau = tonumber(ARGV[3])
local state = redis.call('HMGET', KEYS[2], 'remaining', 'reset', 'limit')
local remaining, reset, limit = tonumber(state[1]), tonumber(state[2]), tonumber(state[3]) or 0
local cap = nil
if remaining and reset and reset > now then
  local floor = tonumber(ARGV[4])
  if ARGV[5] ~= '1' then floor = math.max(floor, math.ceil(limit * tonumber(ARGV[6]))) end
  if remaining <= floor then return {'reset', tostring(reset - now)} end
  if limit > 0 and remaining < limit * tonumber(ARGV[11]) then
    -- what is left, evenly over the time to Reset not yet given to earlier slots
    local booked = tonumber(redis.call('GET', KEYS[1]) or '0')
    if booked < now then booked = now end
    local spread = (reset - booked) / (remaining - floor)
    if spread > interval then interval, tau = spread, 0 end
    cap = reset
  end
  redis.call('HINCRBY', KEYS[2], 'remaining', -1)
end
if interval <= 0 and not cap then return {'slot', '0'} end
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local send = tat - tau
if send < now then send = now end
local new_tat = tat + interval
if cap then  -- spreading what is left of a window: no slot lies beyond its Reset, when it has room again
  if send > cap then send = cap end
  if new_tat > cap then new_tat = cap end
end
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return {'slot', tostring(send - now)}
"""

_local_lock = threading.Lock()
_local_tat: dict[str, float] = {}
_local_state: dict[str, dict[str, float]] = {}


_last_warning = [0.0]


def _warn_local(error: Exception) -> None:
    """Log the fallback to in-process pacing at most once a minute (every request would meet it)."""
    now = time.monotonic()
    if now - _last_warning[0] > 60:
        _last_warning[0] = now
        log.warning("Redis unavailable for Procore pacing (%s): pacing in-process until it is back",
                    type(error).__name__)


def account_hash(account_key: str) -> str:
    return hashlib.sha256(account_key.encode("utf-8")).hexdigest()[:24]


class Pacer:
    def __init__(self, account_key: str, redis: Any = None, *,
                 clock: Callable[[], float], sleep: Callable[[float], None],
                 rate: float | None = None, burst: int = 4, low_water: int = 2,
                 reserve_share: float = 0.1, spread_below: float = 0.25, interactive: bool = False,
                 max_wait: float = 120.0, rng: random.Random | None = None,
                 prefix: str = "procore") -> None:
        self.key = account_hash(account_key)
        self.redis = redis
        self.clock, self.sleep = clock, sleep
        self.rate, self.burst, self.low_water, self.max_wait = rate, burst, low_water, max_wait
        self.reserve_share, self.spread_below, self.interactive = reserve_share, spread_below, interactive
        self.rng = rng or random.Random()
        self._state_key = f"{prefix}:pace:{self.key}:limits"
        self._tat_key = f"{prefix}:pace:{self.key}:tat"
        self._seen: tuple[int, int, int] | None = None  # (remaining, reset, limit) not yet shared
        if redis is not None:
            self._before = redis.register_script(_BEFORE_LUA)

    # -- before each request ---------------------------------------------

    def before_request(self) -> None:
        """Wait for the window's Reset when it is spent down to this caller's floor, then for this
        request's slot (none while the window has room). One Redis round trip."""
        if self.redis is None:
            delay = self._local_before()
            if delay > 0:
                self.sleep(delay)
            return
        try:
            kind, value = self._call_before()
        except RedisError as error:
            # Redis restarting or unreachable (RELIABILITY 13): pace in-process for now rather than fail the
            # request; the shared budget comes back with Redis (the next response's headers re-seed it).
            _warn_local(error)
            delay = self._local_before()
        else:
            if kind == "reset":
                self._wait_for_reset(value)
                try:
                    kind, value = self._call_before()
                except RedisError as error:
                    _warn_local(error)
                    kind, value = "slot", self._local_before()
                if kind == "reset":  # still spent (a clock behind Procore's): go, a 429 says the rest
                    kind, value = "slot", 0.0
            delay = value
        if delay > 0:
            self.sleep(delay)

    def _ceiling(self) -> tuple[float, float]:
        """GCRA's T and tau of the operator's ceiling (0, 0: none)."""
        interval = 1.0 / self.rate if self.rate else 0.0
        return interval, max(0, self.burst - 1) * interval

    def _floor(self, limit: float) -> float:
        if self.interactive:
            return self.low_water
        return max(self.low_water, math.ceil(limit * self.reserve_share))

    def _call_before(self) -> tuple[str, float]:
        interval, tau = self._ceiling()
        seen = self._seen
        remaining, reset, limit = seen if seen else ("", "", "")
        ttl = max(5, int(float(reset) - self.clock()) + 5) if seen else 0
        kind, value = self._before(keys=[self._tat_key, self._state_key], args=[
            self.clock(), interval, tau, self.low_water, "1" if self.interactive else "0", self.reserve_share,
            remaining, reset, limit, ttl, self.spread_below])
        self._seen = None  # shared (kept for the in-process fallback when Redis did not answer)
        return (kind.decode() if isinstance(kind, bytes) else kind), float(value)

    def _wait_for_reset(self, wait: float) -> None:
        if wait <= 0:
            return
        if wait > self.max_wait:
            raise ProcoreRateLimited("Procore rate limit nearly exhausted; retry later", retry_after=wait)
        self.sleep(wait + self.rng.uniform(0, 1.0))

    def _local_before(self) -> float:
        """The same decisions in-process (no Redis: one process shares one budget)."""
        interval, tau = self._ceiling()
        cap = None
        with _local_lock:
            self._share_locally()
            state = _local_state.get(self.key)
            now = self.clock()
            if state and state["reset"] > now:
                floor = self._floor(state.get("limit", 0))
                if state["remaining"] <= floor:
                    wait = state["reset"] - now
                    reserved = False
                else:
                    wait, reserved = 0.0, True
                    limit = state.get("limit", 0)
                    if limit and state["remaining"] < limit * self.spread_below:
                        # what is left, evenly over the time to Reset not yet given to earlier slots
                        booked = max(_local_tat.get(self.key, 0.0), now)
                        spread = (state["reset"] - booked) / (state["remaining"] - floor)
                        if spread > interval:
                            interval, tau = spread, 0.0
                        cap = state["reset"]
                    state["remaining"] -= 1
            else:
                wait, reserved = 0.0, True
        if not reserved:
            self._wait_for_reset(wait)
        if interval <= 0 and cap is None:
            return 0.0
        with _local_lock:
            now = self.clock()
            tat = max(_local_tat.get(self.key, 0.0), now)
            send, new_tat = max(now, tat - tau), tat + interval
            if cap is not None:  # spreading what is left of a window: no slot beyond its Reset
                send, new_tat = min(send, cap), min(new_tat, cap)
            _local_tat[self.key] = new_tat
        return send - now

    def _share_locally(self) -> None:
        if self._seen is None:
            return
        remaining, reset, limit = self._seen
        self._seen = None
        cur = _local_state.get(self.key)
        if cur and cur["reset"] == reset and cur["remaining"] <= remaining:
            return
        _local_state[self.key] = {"remaining": remaining, "reset": reset, "limit": limit}

    # -- after each response ---------------------------------------------

    def observe(self, headers: Any) -> None:
        """Remember a response's rate-limit headers; they are shared with the next reservation."""
        remaining = _http.header_int(headers, "X-Rate-Limit-Remaining")
        reset = _http.header_int(headers, "X-Rate-Limit-Reset")
        if remaining is None or reset is None:
            return
        if self._seen is not None and self._seen[1] == reset and self._seen[0] <= remaining:
            return  # answers arrive out of order: the lowest Remaining of a window is the true one
        self._seen = (remaining, reset, _http.header_int(headers, "X-Rate-Limit-Limit") or 0)
