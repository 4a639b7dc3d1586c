"""Atomic token buckets in Redis (one Lua call per request, clocked by the Redis server).

Several buckets (per client address, per user) are checked together and only charged if all of
them allow the request, so a refused request never eats tokens of another bucket.
"""

from __future__ import annotations

import math
import time
from dataclasses import dataclass

from redis.asyncio import Redis

from services.gateway.settings import RateLimit

TOKEN_BUCKETS = """
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local n = #KEYS
local state = {}
local retry = 0
for i = 1, n do
  local cap = tonumber(ARGV[2 * i - 1])
  local rate = tonumber(ARGV[2 * i])
  local b = redis.call('HMGET', KEYS[i], 'tokens', 'ts')
  local tokens = tonumber(b[1]) or cap
  local ts = tonumber(b[2]) or now
  tokens = math.min(cap, tokens + math.max(0, now - ts) * rate / 1000)
  if tokens < 1 then
    retry = math.max(retry, math.ceil((1 - tokens) * 1000 / rate))
  end
  state[i] = tokens
end
for i = 1, n do
  local cap = tonumber(ARGV[2 * i - 1])
  local rate = tonumber(ARGV[2 * i])
  local tokens = state[i]
  if retry == 0 then tokens = tokens - 1 end
  redis.call('HSET', KEYS[i], 'tokens', tostring(tokens), 'ts', now)
  redis.call('PEXPIRE', KEYS[i], math.ceil(cap * 1000 / rate) + 1000)
end
return retry
"""


@dataclass(frozen=True)
class Verdict:
    allowed: bool
    retry_after_s: int


class RateLimiter:
    """The Redis buckets are the truth; a refusal is also remembered in-process until its
    Retry-After, so a client hammering an exhausted bucket costs neither Redis nor upstreams."""

    def __init__(self, redis: Redis, max_remembered: int = 100_000):
        self.script = redis.register_script(TOKEN_BUCKETS)
        self.refused_until: dict[tuple[str, ...], float] = {}
        self.max_remembered = max_remembered

    async def hit(self, buckets: list[tuple[str, RateLimit]]) -> Verdict:
        names = tuple(name for name, _ in buckets)
        until = self.refused_until.get(names)
        now = time.monotonic()
        if until is not None:
            if now < until:
                return Verdict(False, max(1, math.ceil(until - now)))
            del self.refused_until[names]
        keys = [f"gateway:rl:{name}" for name in names]
        args: list[float] = []
        for _, limit in buckets:
            args += [limit.capacity, limit.per_second]
        retry_ms = int(await self.script(keys=keys, args=args))
        if retry_ms == 0:
            return Verdict(True, 0)
        if len(self.refused_until) >= self.max_remembered:
            self.refused_until.clear()
        self.refused_until[names] = now + retry_ms / 1000
        return Verdict(False, max(1, math.ceil(retry_ms / 1000)))
