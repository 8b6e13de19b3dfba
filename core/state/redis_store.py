"""Shared state in Redis, for replicas: de-duplication, caches, platform budgets, quotas.

Several `trickle` processes against one Redis must answer each event once (`SET NX`) and
together stay inside each platform's budget. The budget is a token bucket kept in Redis
and updated by one Lua script, so taking a token is atomic across replicas and its clock
is Redis's own (`TIME`), not each process's.
"""

from __future__ import annotations

import logging

from redis import asyncio as aioredis
from redis.commands.core import AsyncScript
from redis.exceptions import RedisError

from core.quotas.redis_scripts import RedisQuotas

log = logging.getLogger("trickle.state")

SCAN_BATCH = 500  # keys read with one MGET while scanning

# KEYS[1] = bucket hash. ARGV: rate (tokens/s), burst, need, ttl seconds.
# Returns {granted (0/1), wait seconds as a string}.
_TAKE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local rate = tonumber(ARGV[1])
local burst = tonumber(ARGV[2])
local need = tonumber(ARGV[3])
local b = redis.call('HMGET', KEYS[1], 'tokens', 'at', 'paused')
local tokens = tonumber(b[1]) or burst
local at = tonumber(b[2]) or now
local paused = tonumber(b[3]) or 0
local start = math.max(at, paused)
if now > start then tokens = math.min(burst, tokens + (now - start) * rate) end
at = math.max(at, now)
local granted = 0
local wait = 0
if now < paused then
  wait = paused - now + math.max(0, need - tokens) / rate
elseif tokens >= need then
  tokens = tokens - 1
  granted = 1
else
  wait = (need - tokens) / rate
end
redis.call('HSET', KEYS[1], 'tokens', tokens, 'at', at, 'paused', paused)
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[4]))
return {granted, tostring(wait)}
"""

# KEYS[1] = bucket hash. ARGV: retry_after seconds, ttl. Empties and pauses the bucket.
_PAUSE = """
local t = redis.call('TIME')
local now = tonumber(t[1]) + tonumber(t[2]) / 1000000
local paused = tonumber(redis.call('HGET', KEYS[1], 'paused')) or 0
redis.call('HSET', KEYS[1], 'tokens', 0, 'at', now, 'paused', math.max(paused, now + tonumber(ARGV[1])))
redis.call('EXPIRE', KEYS[1], tonumber(ARGV[2]))
return 1
"""


def _text(value: bytes | str) -> str:
    """A value as text. `connect` has the client decode replies, which redis-py's types
    cannot express; bytes from a client built without that are decoded here."""
    return value.decode() if isinstance(value, bytes) else value


class RedisBucket:
    """One platform budget shared by every replica (see `core.pacing.budget.Budget.remote`)."""

    __slots__ = ("_redis", "key", "rate", "burst", "_take", "_pause")

    def __init__(
        self, redis: aioredis.Redis, key: str, *, rate: float, burst: float, take: AsyncScript, pause: AsyncScript
    ) -> None:
        self._redis = redis
        self.key = key
        self.rate = rate
        self.burst = burst
        self._take = take
        self._pause = pause

    def __repr__(self) -> str:
        return f"<RedisBucket {self.key} rate={self.rate:.3g}/s burst={self.burst:g}>"

    async def take(self, need: float) -> float:
        """Take a token if `need` are there: 0.0 when granted, else seconds to wait.

        If Redis is unreachable the call is allowed through: the local budget still paces
        this process, and an answer must not stall because shared state is down.
        """
        try:
            granted, wait = await self._take(keys=[self.key], args=[self.rate, self.burst, need, 3600])
        except (RedisError, OSError) as exc:
            log.warning("shared budget %s unavailable (%s); pacing locally", self.key, exc)
            return 0.0
        return 0.0 if int(granted) else max(0.001, float(wait))

    async def pause(self, retry_after: float) -> None:
        """The platform said 429: every replica waits it out."""
        try:
            await self._pause(keys=[self.key], args=[retry_after, 3600])
        except (RedisError, OSError) as exc:
            log.warning("could not share a rate limit on %s: %s", self.key, exc)


class RedisState:
    """`StateStore` over Redis; keys are namespaced with `prefix`."""

    __slots__ = ("_redis", "_prefix", "_take", "_pause", "_quotas")
    shared = True

    def __init__(self, redis: aioredis.Redis, *, prefix: str = "trickle:") -> None:
        self._redis = redis
        self._prefix = prefix
        self._take = redis.register_script(_TAKE)
        self._pause = redis.register_script(_PAUSE)
        self._quotas = RedisQuotas(redis, prefix=prefix)

    def __repr__(self) -> str:
        return f"<RedisState prefix={self._prefix!r}>"

    @classmethod
    async def connect(cls, url: str, *, prefix: str = "trickle:") -> RedisState:
        """Connect and check the server answers, so a bad URL fails at start."""
        redis = aioredis.from_url(url, decode_responses=True, health_check_interval=30)
        await redis.ping()
        return cls(redis, prefix=prefix)

    @property
    def redis(self) -> aioredis.Redis:
        return self._redis

    async def claim(self, key: str, ttl: float) -> bool:
        try:
            return bool(await self._redis.set(self._prefix + key, "1", nx=True, px=int(ttl * 1000)))
        except (RedisError, OSError) as exc:
            # Answering twice is better than not answering at all.
            log.warning("de-duplication unavailable (%s); answering anyway", exc)
            return True

    async def get(self, key: str) -> str | None:
        try:
            value = await self._redis.get(self._prefix + key)
        except (RedisError, OSError):
            return None
        return None if value is None else _text(value)

    async def put(self, key: str, value: str, ttl: float) -> None:
        try:
            await self._redis.set(self._prefix + key, value, px=max(1, int(ttl * 1000)))
        except (RedisError, OSError) as exc:
            log.warning("could not cache %s: %s", key, exc)

    async def delete(self, key: str) -> bool:
        try:
            await self._redis.delete(self._prefix + key)
        except (RedisError, OSError) as exc:
            log.warning("could not delete %s: %s", key, exc)
            return False
        return True

    async def incr(self, key: str, amount: int, ttl: float) -> int:
        """INCRBY and PEXPIRE in one MULTI: a counter is never left without its expiry."""
        try:
            async with self._redis.pipeline(transaction=True) as pipe:
                pipe.incrby(self._prefix + key, amount)
                pipe.pexpire(self._prefix + key, max(1, int(ttl * 1000)))
                total, _ = await pipe.execute()
        except (RedisError, OSError) as exc:
            log.warning("could not count %s: %s", key, exc)
            return 0
        return int(total)

    async def scan(self, pattern: str) -> dict[str, str]:
        """Every key matching `pattern` (prefix excluded) with its value.

        Values are read with one MGET per batch of keys found, not a GET each: a usage
        report reads thousands of counters.
        """
        found: dict[str, str] = {}
        batch: list[str] = []
        try:
            async for key in self._redis.scan_iter(match=self._prefix + pattern, count=500):
                batch.append(key)
                if len(batch) >= SCAN_BATCH:
                    await self._read_into(found, batch)
            await self._read_into(found, batch)
        except (RedisError, OSError) as exc:
            log.warning("could not scan %s: %s", pattern, exc)
        return found

    async def _read_into(self, found: dict[str, str], batch: list[str]) -> None:
        """Read `batch`'s values into `found` (keys without the prefix), then empty it."""
        if not batch:
            return
        values = await self._redis.mget(batch)
        for key, value in zip(batch, values, strict=False):
            if value is not None:  # expired or deleted since the scan saw it
                found[key[len(self._prefix) :]] = _text(value)
        batch.clear()

    def bucket(self, name: str, *, rate: float, burst: float) -> RedisBucket:
        return RedisBucket(
            self._redis,
            f"{self._prefix}bucket:{name}",
            rate=rate,
            burst=burst,
            take=self._take,
            pause=self._pause,
        )

    def quotas(self) -> RedisQuotas:
        return self._quotas

    async def aclose(self) -> None:
        await self._redis.aclose()
