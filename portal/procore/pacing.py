"""Request pacing shared by every worker that uses the same Procore account.

Two mechanisms, both keyed by a hash of the credential's ``account_key``
(never a token), in Redis when available, else in-process:

1. Header feedback. Every Procore response carries X-Rate-Limit-Limit /
   -Remaining / -Reset (unix seconds) for whichever window (10 s spike or
   hourly) is closest to exhaustion. We store the latest values; before a
   request, if Remaining <= ``low_water`` and Reset is still ahead, we wait
   until Reset (plus a little jitter so N workers do not stampede). A wait
   longer than ``max_wait`` is not slept: ProcoreRateLimited(retry_after=...)
   is raised so the caller re-queues the job instead of pinning a worker.

2. Spacing (GCRA, "generic cell rate algorithm"). One shared value, the
   theoretical arrival time ``tat``. A request arriving at ``now`` reserves
   the slot ``send = max(now, tat - tau)`` and moves ``tat`` to
   ``max(tat, now) + T`` where T = 1/rate and tau = (burst - 1) * T. The
   caller then sleeps ``send - now``. Reservation is one atomic Lua script,
   so N workers together never exceed ``burst + rate * W`` requests in any
   window of W seconds (defaults 2/s, burst 4: at most 24 per 10 s, under
   the 25/10 s spike example in Procore's docs). Procore says not to
   hard-code limits, so both numbers are configuration; ``rate=None``
   disables spacing and leaves only the header feedback.

Clocks: the caller's clock is used (not Redis TIME) so tests can inject a
fake one; production hosts are NTP-synchronised, and skew only shifts slots.
"""
from __future__ import annotations

import hashlib
import random
import threading
from typing import Any, Callable

from . import _http
from .errors import ProcoreRateLimited

# Before a request, one round trip: read the rate-limit state and, unless the window is nearly spent,
# reserve a GCRA slot. Returns {"reset", seconds to Reset} (nothing reserved) or {"slot", delay}.
_BEFORE_LUA = """
local now = tonumber(ARGV[1])
if ARGV[5] == '1' then
  local state = redis.call('HMGET', KEYS[2], 'remaining', 'reset')
  local remaining, reset = tonumber(state[1]), tonumber(state[2])
  if remaining and reset and remaining <= tonumber(ARGV[4]) and reset > now then
    return {'reset', tostring(reset - now)}
  end
end
local interval = tonumber(ARGV[2])
if interval <= 0 then return {'slot', '0'} end
local tau = tonumber(ARGV[3])
local tat = tonumber(redis.call('GET', KEYS[1]) or '0')
if tat < now then tat = now end
local send = tat - tau
if send < now then send = now end
local new_tat = tat + interval
redis.call('SET', KEYS[1], tostring(new_tat), 'PX', math.ceil((new_tat - now) * 1000) + 1000)
return {'slot', tostring(send - now)}
"""

# Keep the lowest Remaining seen for the same Reset: responses to concurrent
# requests arrive out of order, and a stale higher value must not win.
_OBSERVE_LUA = """
local cur = redis.call('HMGET', KEYS[1], 'reset', 'remaining')
if cur[1] == ARGV[2] and cur[2] and tonumber(cur[2]) <= tonumber(ARGV[1]) then
  return 0
end
redis.call('HSET', KEYS[1], 'remaining', ARGV[1], 'reset', ARGV[2], 'limit', ARGV[3])
redis.call('EXPIRE', KEYS[1], ARGV[4])
return 1
"""

_local_lock = threading.Lock()
_local_tat: dict[str, float] = {}
_local_state: dict[str, dict[str, float]] = {}


def account_hash(account_key: str) -> str:
    return hashlib.sha256(account_key.encode("utf-8")).hexdigest()[:24]


class Pacer:
    def __init__(self, account_key: str, redis: Any = None, *,
                 clock: Callable[[], float], sleep: Callable[[float], None],
                 rate: float | None = 2.0, burst: int = 4, low_water: int = 2,
                 max_wait: float = 120.0, rng: random.Random | None = None,
                 prefix: str = "procore") -> None:
        self.key = account_hash(account_key)
        self.redis = redis
        self.clock, self.sleep = clock, sleep
        self.rate, self.burst, self.low_water, self.max_wait = rate, burst, low_water, max_wait
        self.rng = rng or random.Random()
        self._state_key = f"{prefix}:pace:{self.key}:limits"
        self._tat_key = f"{prefix}:pace:{self.key}:tat"
        self._last_quiet_reset: int | None = None
        if redis is not None:
            self._before = redis.register_script(_BEFORE_LUA)
            self._observe = redis.register_script(_OBSERVE_LUA)

    # -- before each request ---------------------------------------------

    def before_request(self) -> None:
        """Wait for the window's Reset when it is nearly spent, then for this request's slot.
        With Redis both checks are one round trip (a script); it was three per request."""
        if self.redis is None:
            self._wait_for_reset(self._read_state())
            delay = self._reserve_slot() if self.rate else 0.0
        else:
            kind, value = self._call_before(check_state=True)
            if kind == "reset":
                self._wait_for_reset({"remaining": 0, "reset": self.clock() + value})
                kind, value = self._call_before(check_state=False)
            delay = value
        if delay > 0:
            self.sleep(delay)

    def _spacing(self) -> tuple[float, float]:
        """GCRA's T (seconds between requests; 0 = no spacing) and tau (the burst's allowance)."""
        interval = 1.0 / self.rate if self.rate else 0.0
        return interval, max(0, self.burst - 1) * interval

    def _call_before(self, check_state: bool) -> tuple[str, float]:
        interval, tau = self._spacing()
        kind, value = self._before(keys=[self._tat_key, self._state_key],
                                   args=[self.clock(), interval, tau, self.low_water, int(check_state)])
        return (kind.decode() if isinstance(kind, bytes) else kind), float(value)

    def _wait_for_reset(self, state: dict[str, float]) -> None:
        remaining, reset = state.get("remaining"), state.get("reset")
        if remaining is None or reset is None or remaining > self.low_water:
            return
        wait = reset - self.clock()
        if wait <= 0:
            return
        if wait > self.max_wait:
            raise ProcoreRateLimited("Procore rate limit nearly exhausted; retry later",
                                     retry_after=wait)
        self.sleep(wait + self.rng.uniform(0, 1.0))

    def _reserve_slot(self) -> float:
        """In-process spacing (no Redis)."""
        now = self.clock()
        interval, tau = self._spacing()
        with _local_lock:
            tat = max(_local_tat.get(self.key, 0.0), now)
            send = max(now, tat - tau)
            _local_tat[self.key] = tat + interval
        return send - now

    # -- after each response ---------------------------------------------

    def observe(self, headers: Any) -> None:
        remaining = _http.header_int(headers, "X-Rate-Limit-Remaining")
        reset = _http.header_int(headers, "X-Rate-Limit-Reset")
        if remaining is None or reset is None:
            return
        limit = _http.header_int(headers, "X-Rate-Limit-Limit") or 0
        if self.redis is not None:
            if remaining > self.low_water and self._quiet_since(reset):
                return  # nothing to say: see _quiet_since
            ttl = max(5, int(reset - self.clock()) + 5)
            self._observe(keys=[self._state_key], args=[remaining, reset, limit, ttl])
            return
        with _local_lock:
            cur = _local_state.get(self.key)
            if cur and cur["reset"] == reset and cur["remaining"] <= remaining:
                return
            _local_state[self.key] = {"remaining": remaining, "reset": reset, "limit": limit}

    def _quiet_since(self, reset: int) -> bool:
        """Whether a comfortable Remaining need not be written to Redis (saves a round trip per response).

        Only a Remaining at or under ``low_water`` with its Reset ahead ever makes anyone wait, and
        within one window Remaining only falls, so a higher value can never lift a wait that a
        stored low one imposes; a new window (another Reset) is written once so the state stays
        readable. Tracked per process: other processes write their own first sight of a window.
        """
        if self._last_quiet_reset == reset:
            return True
        self._last_quiet_reset = reset
        return False

    def _read_state(self) -> dict[str, float]:
        if self.redis is not None:
            raw = self.redis.hgetall(self._state_key)
            return {k.decode() if isinstance(k, bytes) else k: float(v) for k, v in raw.items()}
        with _local_lock:
            return dict(_local_state.get(self.key, {}))
