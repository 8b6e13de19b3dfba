"""Per-person quotas in Redis (`core.quotas.remote.RemoteQuotas`), one Lua script each.

Keys, under the state prefix:
- `quota:slots:<person>`: a sorted set of slot holders scored by when their lease ends;
  expired members are dropped before counting, so a killed replica's slots free
  themselves, and the key expires with its last lease.
- `quota:waiting:<person>`: the same, for answers admitted and waiting for a slot; taking
  the slot moves a holder from this set to the slots in one script.
- `quota:rate:<person|place>:<id>`: a sorted set of request times over the window,
  expiring one window after the last request.
Time is Redis's own (`TIME`), so replicas' clocks never disagree about a lease.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping

from redis import asyncio as aioredis
from redis.exceptions import RedisError

from core.quotas.remote import StoreUnavailable

log = logging.getLogger("trickle.quotas")

RETRY_AFTER = 2.0  # seconds counted locally after a failure before Redis is tried again

_NOW = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
"""

# Expire a slot set with its latest lease (leases may differ between replicas' settings).
_EXPIRE_WITH_LAST_LEASE = """
local function expire_with_last(key, now)
  local last = redis.call('ZRANGE', key, -1, -1, 'WITHSCORES')
  if last[2] then
    redis.call('PEXPIRE', key, math.max(1, math.ceil((tonumber(last[2]) - now) * 1000)))
  end
end
"""

# KEYS[1] = slot set, KEYS[2] = waiting set. ARGV: holder, size, lease seconds. Returns 1
# when held; the holder then no longer waits.
_HOLD = (
    _NOW
    + _EXPIRE_WITH_LAST_LEASE
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
if not redis.call('ZSCORE', KEYS[1], ARGV[1]) and redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[1], now + tonumber(ARGV[3]), ARGV[1])
redis.call('ZREM', KEYS[2], ARGV[1])
expire_with_last(KEYS[1], now)
return 1
"""
)

# KEYS[1] = slot set, KEYS[2] = waiting set. ARGV: holder, cap, lease seconds. Returns 1
# when the holder now waits: slots held plus places waiting were below the cap.
_ENTER = (
    _NOW
    + _EXPIRE_WITH_LAST_LEASE
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
redis.call('ZREMRANGEBYSCORE', KEYS[2], '-inf', now)
if redis.call('ZCARD', KEYS[1]) + redis.call('ZCARD', KEYS[2]) >= tonumber(ARGV[2]) then
  return 0
end
redis.call('ZADD', KEYS[2], now + tonumber(ARGV[3]), ARGV[1])
expire_with_last(KEYS[2], now)
return 1
"""
)

# KEYS[1] = slot set, KEYS[2] = waiting set, KEYS[3] = the holder's release mark.
# ARGV[1] = holder: its slot or place, gone; the mark outlives any late renewal.
_RELEASE = """
redis.call('SET', KEYS[3], '1', 'PX', 60000)
return redis.call('ZREM', KEYS[1], ARGV[1]) + redis.call('ZREM', KEYS[2], ARGV[1])
"""

# KEYS[1] = slot set. Returns the live leases.
_HELD = (
    _NOW
    + """
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now)
return redis.call('ZCARD', KEYS[1])
"""
)

# KEYS = N slot sets, then the N holders' release marks; ARGV: lease seconds, then one
# holder per slot set. Re-adds a lease a Redis restart lost (the answer is running, so it
# does hold the slot), but never one released meanwhile: a renewal sent just before a
# release may run just after it, and would bring back a slot nobody holds.
_RENEW = (
    _NOW
    + _EXPIRE_WITH_LAST_LEASE
    + """
local lease = tonumber(ARGV[1])
local n = #KEYS / 2
for i = 1, n do
  if redis.call('EXISTS', KEYS[n + i]) == 0 then
    redis.call('ZADD', KEYS[i], now + lease, ARGV[i + 1])
    expire_with_last(KEYS[i], now)
  end
end
return n
"""
)

# KEYS = waiting sets; ARGV as for _RENEW. Only extends (XX): a place that took its slot
# since the caller looked must not come back as waiting too.
_RENEW_PLACES = (
    _NOW
    + _EXPIRE_WITH_LAST_LEASE
    + """
local lease = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, 'XX', now + lease, ARGV[i + 1])
  expire_with_last(key, now)
end
return #KEYS
"""
)

# KEYS[1] = request times. ARGV: limit, window seconds, a unique member. Returns 1 if allowed.
_HIT = (
    _NOW
    + """
local window = tonumber(ARGV[2])
redis.call('ZREMRANGEBYSCORE', KEYS[1], '-inf', now - window)
if redis.call('ZCARD', KEYS[1]) >= tonumber(ARGV[1]) then
  return 0
end
redis.call('ZADD', KEYS[1], now, ARGV[3])
redis.call('PEXPIRE', KEYS[1], math.ceil(window * 1000))
return 1
"""
)


class RedisQuotas:
    """Shared per-person quotas; says once when Redis goes away and once when it is back.

    A failed call makes the next `RETRY_AFTER` seconds fail at once without trying:
    redis-py retries a refused connection for seconds, and an answer must not wait that
    long three times over to learn it should count locally.
    """

    __slots__ = (
        "_redis",
        "_prefix",
        "_hold",
        "_enter",
        "_held",
        "_renew",
        "_renew_places",
        "_release",
        "_hit",
        "_down",
        "_retry_at",
        "_clock",
    )

    def __init__(self, redis: aioredis.Redis, *, prefix: str, clock: Callable[[], float] = time.monotonic) -> None:
        self._redis = redis
        self._prefix = prefix
        self._hold = redis.register_script(_HOLD)
        self._enter = redis.register_script(_ENTER)
        self._held = redis.register_script(_HELD)
        self._renew = redis.register_script(_RENEW)
        self._renew_places = redis.register_script(_RENEW_PLACES)
        self._release = redis.register_script(_RELEASE)
        self._hit = redis.register_script(_HIT)
        self._down = False
        self._retry_at = 0.0
        self._clock = clock

    def __repr__(self) -> str:
        return f"<RedisQuotas prefix={self._prefix!r} down={self._down}>"

    def _slots(self, key: str) -> str:
        return f"{self._prefix}quota:slots:{key}"

    def _waiting(self, key: str) -> str:
        return f"{self._prefix}quota:waiting:{key}"

    def _released(self, holder: str) -> str:
        return f"{self._prefix}quota:released:{holder}"

    async def _run(self, call: Callable[[], Awaitable[int]]) -> int:
        # Every script above replies with a Redis integer.
        if self._down and self._clock() < self._retry_at:
            raise StoreUnavailable("shared quotas away; retrying soon")
        try:
            result = int(await call())
        except (RedisError, OSError) as exc:
            self._retry_at = self._clock() + RETRY_AFTER
            if not self._down:
                self._down = True
                log.warning("shared quotas unavailable (%s); counting per process until Redis is back", exc)
            raise StoreUnavailable(str(exc)) from exc
        if self._down:
            self._down = False
            log.info("shared quotas back: counting across replicas again")
        return result

    async def hit(self, key: str, *, limit: int, window: float) -> bool:
        args: list[float | str] = [limit, window, uuid.uuid4().hex]
        return bool(await self._run(lambda: self._hit(keys=[f"{self._prefix}quota:rate:{key}"], args=args)))

    async def enter(self, key: str, holder: str, *, cap: int, lease: float) -> bool:
        keys = [self._slots(key), self._waiting(key)]
        return bool(await self._run(lambda: self._enter(keys=keys, args=[holder, cap, lease])))

    async def try_hold(self, key: str, holder: str, *, size: int, lease: float) -> bool:
        keys = [self._slots(key), self._waiting(key)]
        return bool(await self._run(lambda: self._hold(keys=keys, args=[holder, size, lease])))

    async def held(self, key: str) -> int:
        return await self._run(lambda: self._held(keys=[self._slots(key)], args=[]))

    async def renew(self, leases: Mapping[str, str], lease: float, *, places: Mapping[str, str] | None = None) -> None:
        if leases:
            keys = [self._slots(key) for key in leases.values()] + [self._released(holder) for holder in leases]
            await self._run(lambda: self._renew(keys=keys, args=[lease, *leases]))
        if places:
            waiting = [self._waiting(key) for key in places.values()]
            await self._run(lambda: self._renew_places(keys=waiting, args=[lease, *places]))

    async def release(self, key: str, holder: str) -> None:
        keys = [self._slots(key), self._waiting(key), self._released(holder)]
        await self._run(lambda: self._release(keys=keys, args=[holder]))
