"""The proxy itself: a plain ASGI app (no per-request framework objects on the hot path).

Per request: match the route table -> verify the token (if any, and required by the rule) ->
charge the rate-limit buckets -> serve from cache (public GETs) -> forward over one pooled
aiohttp client -> relay the answer. Every refusal is a problem+json response.
"""

from __future__ import annotations

import asyncio
from urllib.parse import quote

import aiohttp
from starlette.types import Receive, Scope, Send

from services.gateway.cache import CachedResponse, ResponseCache, etag_matches, etag_of
from services.gateway.jwks import GatewayKeys
from services.gateway.ratelimit import RateLimiter, Verdict
from services.gateway.routes import Rule, match
from services.gateway.settings import GatewaySettings, RateLimit
from services.platform.auth import Identity
from services.platform.client_ip import client_ip
from services.platform.errors import Problem
from services.platform.middleware import header, send_problem

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
"""Requests without side effects: their rate-limit check runs beside the upstream call (one Redis
round trip less on the critical path). Writes, and cached reads, are charged before anything
else happens. Once refused, a client is refused locally until its Retry-After (see RateLimiter),
so an over-limit client cannot push more than one read per window through to an upstream."""

HOP_BY_HOP = frozenset({
    b"connection", b"keep-alive", b"proxy-authenticate", b"proxy-authorization", b"te",
    b"trailer", b"transfer-encoding", b"upgrade", b"host", b"content-length",
})
# Identity headers are set by the gateway only; a client must not be able to forge them.
STRIPPED_REQUEST = HOP_BY_HOP | {b"x-user-id", b"x-user-roles", b"x-forwarded-for",
                                 b"x-forwarded-proto", b"x-request-id"}


class Proxy:
    def __init__(
        self,
        settings: GatewaySettings,
        rules: tuple[Rule, ...],
        *,
        session: aiohttp.ClientSession,
        keys: GatewayKeys,
        limiter: RateLimiter,
        cache: ResponseCache,
    ):
        self.settings = settings
        self.rules = rules
        self.session = session
        self.keys = keys
        self.limiter = limiter
        self.cache = cache
        self.trusted = tuple(settings.trusted_proxies)
        self.timeout = aiohttp.ClientTimeout(
            total=settings.upstream_timeout_s, sock_connect=settings.upstream_connect_timeout_s
        )
        self.rates: dict[str, RateLimit] = {
            "client": settings.client_rate, "user": settings.user_rate, "auth": settings.auth_rate,
        }

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        try:
            await self.handle(scope, receive, send)
        except Problem as exc:
            headers = [(k.lower().encode(), v.encode()) for k, v in exc.headers.items()]
            await send_problem(send, exc.status, exc.slug, exc.detail, headers, **exc.extra)

    async def handle(self, scope: Scope, receive: Receive, send: Send) -> None:
        method, path = scope["method"], scope["path"]
        rule = match(self.rules, method, path)
        if rule is None:
            raise Problem(f"No route for {method} {path}.", status=404, slug="not-found")
        scope["route_template"] = rule.name
        identity = await self._authorise(scope, rule)
        peer = scope["client"][0] if scope.get("client") else None
        xff = header(scope, b"x-forwarded-for")
        ip = client_ip(peer, xff.decode("latin-1") if xff else None, self.trusted)
        cacheable = rule.cache and method == "GET" and header(scope, b"authorization") is None
        pending_limit = self._charge(rule, ip, identity) if self.settings.rate_limits_enabled else None
        if cacheable:  # the cache lookup and the charge travel to Redis together
            key = path + "?" + scope["query_string"].decode("latin-1")
            gen, hit = await self.cache.get(key)
        if pending_limit is not None and (method not in SAFE_METHODS or cacheable):
            await settle(pending_limit)
            pending_limit = None
        if cacheable and hit is not None:
            await self._send_cached(scope, send, hit, b"HIT")
            return

        body = await read_body(receive)
        try:
            status, headers, content = await self._forward(scope, rule, body, identity, ip, xff)
        finally:
            if pending_limit is not None:  # a refused safe request's answer is thrown away
                await settle(pending_limit)
        if cacheable and status == 200 and cache_allowed(headers):
            cached = CachedResponse(status, headers, content, etag_of(content))
            await self._send_cached(scope, send, cached, b"MISS")
            await self.cache.put(gen, key, cached)  # after the answer left: off its latency
            return
        await send({"type": "http.response.start", "status": status,
                    "headers": [*headers, (b"content-length", str(len(content)).encode())]})
        await send({"type": "http.response.body", "body": content})

    async def _authorise(self, scope: Scope, rule: Rule) -> Identity | None:
        auth = header(scope, b"authorization")
        if auth is None:
            if rule.access != "public":
                raise Problem("Authentication required.", status=401, slug="unauthorized",
                              headers={"WWW-Authenticate": "Bearer"})
            return None
        scheme, _, token = auth.decode("latin-1").partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise Problem("Use 'Authorization: Bearer <token>'.", status=401, slug="invalid-token",
                          headers={"WWW-Authenticate": "Bearer"})
        identity = await self.keys.verify(token.strip())
        if rule.access == "admin" and not identity.is_admin:
            raise Problem("This route needs the admin role.", status=403, slug="forbidden")
        scope["state"]["user_id"] = identity.user_id
        return identity

    def _charge(self, rule: Rule, ip: str, identity: Identity | None) -> asyncio.Future[Verdict]:
        """Start charging the buckets; the caller awaits it before or beside the upstream call."""
        override = self.settings.route_limits.get(rule.name)
        if override is not None:  # a route with its own budget gets its own bucket
            buckets = [(f"route:{rule.name}:ip:{ip}", override)]
        else:
            ip_rate = "auth" if rule.rate == "auth" else "client"
            buckets = [(f"{ip_rate}:ip:{ip}", self.rates[ip_rate])]
        if identity is not None and rule.rate != "auth":
            buckets.append((f"user:{identity.user_id}", self.rates["user"]))
        return asyncio.ensure_future(self.limiter.hit(buckets))

    async def _forward(
        self, scope: Scope, rule: Rule, body: bytes, identity: Identity | None, ip: str,
        xff: bytes | None,
    ) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
        base = self.settings.upstreams.get(rule.service)
        if base is None:
            raise Problem(f"The {rule.service} service is not configured.", status=502,
                          slug="bad-gateway")
        url = base + quote(scope["path"])
        if scope["query_string"]:
            url += "?" + scope["query_string"].decode("latin-1")
        headers = {k.decode("latin-1"): v.decode("latin-1") for k, v in scope["headers"]
                   if k not in STRIPPED_REQUEST}
        peer = scope["client"][0] if scope.get("client") else ip
        headers["x-forwarded-for"] = f"{xff.decode('latin-1')}, {peer}" if xff and ip != peer else peer
        headers["x-forwarded-proto"] = scope.get("scheme", "http")
        headers["x-request-id"] = scope["state"]["request_id"]
        if identity is not None:
            headers["x-user-id"] = identity.user_id
            headers["x-user-roles"] = ",".join(identity.roles)
        try:
            async with self.session.request(
                scope["method"], url, headers=headers, data=body or None,
                allow_redirects=False, timeout=self.timeout,
            ) as resp:
                content = await resp.read()
                out = [(k.lower(), v) for k, v in resp.raw_headers if k.lower() not in HOP_BY_HOP]
                return resp.status, out, content
        except TimeoutError as exc:
            raise Problem(f"The {rule.service} service did not answer in time.", status=504,
                          slug="upstream-timeout") from exc
        except aiohttp.ClientError as exc:
            raise Problem(f"The {rule.service} service is unavailable.", status=502,
                          slug="bad-gateway") from exc

    async def _send_cached(self, scope: Scope, send: Send, hit: CachedResponse, state: bytes) -> None:
        extra = [(b"etag", hit.etag), (b"x-cache", state),
                 (b"cache-control", f"public, max-age={self.cache.ttl_s}".encode())]
        base = [(k, v) for k, v in hit.headers if k not in (b"etag", b"cache-control")]
        if etag_matches(header(scope, b"if-none-match"), hit.etag):
            await send({"type": "http.response.start", "status": 304, "headers": extra})
            await send({"type": "http.response.body", "body": b""})
            return
        await send({"type": "http.response.start", "status": hit.status,
                    "headers": [*base, *extra, (b"content-length", str(len(hit.body)).encode())]})
        await send({"type": "http.response.body", "body": hit.body})


async def settle(pending: asyncio.Future[Verdict]) -> None:
    verdict = await pending
    if not verdict.allowed:
        raise Problem("Rate limit exceeded; slow down.", status=429, slug="rate-limited",
                      headers={"Retry-After": str(verdict.retry_after_s)})


def cache_allowed(headers: list[tuple[bytes, bytes]]) -> bool:
    """The upstream has the last word: `no-store` or `private` answers are never shared."""
    for key, value in headers:
        if key == b"cache-control" and (b"no-store" in value or b"private" in value):
            return False
    return True


async def read_body(receive: Receive) -> bytes:
    chunks = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            raise asyncio.CancelledError
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks)
