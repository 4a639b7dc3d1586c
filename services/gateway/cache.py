"""Redis cache of public GET responses, invalidated by catalog events.

Entries are keyed under a generation number; an event that changes the catalog bumps the
generation (one `INCR`), which makes every older entry unreachable at once, and their TTL
cleans them up. One Lua call reads the generation and the entry together.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

import orjson
from redis.asyncio import Redis

GENERATION_KEY = "gateway:cache:gen"
PREFIX = "gateway:cache:"

LOOKUP = """
local gen = redis.call('GET', KEYS[1]) or '0'
return {gen, redis.call('GET', ARGV[1] .. gen .. ':' .. ARGV[2])}
"""


@dataclass(frozen=True)
class CachedResponse:
    status: int
    headers: list[tuple[bytes, bytes]]
    body: bytes
    etag: bytes


def etag_of(body: bytes) -> bytes:
    return b'"' + hashlib.blake2b(body, digest_size=12).hexdigest().encode() + b'"'


def etag_matches(if_none_match: bytes | None, etag: bytes) -> bool:
    if not if_none_match:
        return False
    candidates = {c.strip().removeprefix(b"W/") for c in if_none_match.split(b",")}
    return b"*" in candidates or etag in candidates


class ResponseCache:
    def __init__(self, redis: Redis, ttl_s: int):
        self.redis = redis
        self.ttl_s = ttl_s
        self.lookup_script = redis.register_script(LOOKUP)

    async def get(self, key: str) -> tuple[bytes, CachedResponse | None]:
        gen, raw = await self.lookup_script(keys=[GENERATION_KEY], args=[PREFIX, key])
        if raw is None:
            return gen, None
        meta, body = raw.split(b"\n", 1)
        status, headers, etag = orjson.loads(meta)
        return gen, CachedResponse(
            status, [(k.encode(), v.encode()) for k, v in headers], body, etag.encode()
        )

    async def put(self, gen: bytes, key: str, response: CachedResponse) -> None:
        meta = orjson.dumps([
            response.status,
            [(k.decode(), v.decode()) for k, v in response.headers],
            response.etag.decode(),
        ])
        await self.redis.set(f"{PREFIX}{gen.decode()}:{key}", meta + b"\n" + response.body,
                             ex=self.ttl_s)

    async def invalidate(self) -> int:
        return int(await self.redis.incr(GENERATION_KEY))
