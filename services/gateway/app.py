"""Builds the gateway: the proxy for `/api/...` and the JWKS, plus its own operational routes
(`/health`, `/ready`, `/metrics`, merged `/openapi.json`, `/docs`)."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import aiohttp
from fastapi import FastAPI, Request, WebSocket
from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Receive, Scope, Send

from services.gateway.cache import ResponseCache
from services.gateway.events import CACHE_GROUP, INVALIDATING_PREFIXES, INVALIDATING_STREAMS
from services.gateway.jwks import GatewayKeys
from services.gateway.openapi import MergedOpenAPI
from services.gateway.proxy import Proxy
from services.gateway.ratelimit import RateLimiter
from services.gateway.routes import RULES
from services.gateway.settings import GatewaySettings
from services.gateway.ws import PushHub, serve_socket
from services.platform.app import create_service_app
from services.platform.consumer import Consumer, RedisIdempotency
from services.platform.events import Event
from services.platform.logging import configure_logging
from services.platform.middleware import BodySizeLimitMiddleware, RequestContextMiddleware
from services.platform.redis import async_client, resolve_redis_url, sync_client


class Dispatch:
    """`/api/...` and the JWKS go to the proxy; everything else to the gateway's own routes."""

    def __init__(self, app: FastAPI):
        self.app = app
        self.proxy: Proxy | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http" and self.proxy is not None and (
            scope["path"].startswith("/api/") or scope["path"] == "/.well-known/jwks.json"
        ):
            await self.proxy(scope, receive, send)
        else:
            await self.app(scope, receive, send)


UPSTREAM_KEEPALIVE_S = 4.0
"""Below uvicorn's keep-alive timeout (5 s), as the services' own `Pool` keeps below it."""


def invalidation_consumer(redis_url: str) -> Consumer:
    client = sync_client(redis_url)

    def handle(event: Event, _session: object) -> None:
        client.incr("gateway:cache:gen")

    return Consumer(client, group=CACHE_GROUP, streams=INVALIDATING_STREAMS, handler=handle,
                    idempotency=RedisIdempotency(client, CACHE_GROUP), start_id="$",
                    accepts=lambda event: event.type.startswith(INVALIDATING_PREFIXES))


def create_app(settings: GatewaySettings | None = None) -> ASGIApp:
    settings = settings or GatewaySettings()
    configure_logging(settings.service_name, settings.log_level)
    stop = threading.Event()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        redis_url = await asyncio.to_thread(resolve_redis_url, settings.redis_url, settings.data_dir)
        redis = async_client(redis_url)
        session = aiohttp.ClientSession(
            # Idle upstream connections are dropped before the services' uvicorn closes its end
            # (5 s): a request sent on a connection the upstream was closing failed as a 502.
            connector=aiohttp.TCPConnector(limit=settings.upstream_pool_size,
                                           keepalive_timeout=UPSTREAM_KEEPALIVE_S, ttl_dns_cache=300),
            auto_decompress=False,
            skip_auto_headers=("User-Agent", "Accept-Encoding"),
        )
        jwks_base = settings.upstreams[settings.jwks_service]
        keys = GatewayKeys(f"{jwks_base}/.well-known/jwks.json", session)
        dispatch.proxy = Proxy(
            settings, RULES, session=session, keys=keys, limiter=RateLimiter(redis),
            cache=ResponseCache(redis, settings.cache_ttl_s),
        )
        app.state.openapi = MergedOpenAPI(settings.upstreams, session)
        app.state.redis = redis
        app.state.keys = keys
        app.state.push_hub = PushHub(redis)
        refresher = asyncio.create_task(keys.refresh_forever(settings.jwks_refresh_s))
        consumer = invalidation_consumer(redis_url)
        worker = threading.Thread(target=consumer.run, args=(stop,), daemon=True,
                                  name="cache-invalidation")
        worker.start()
        yield
        stop.set()
        refresher.cancel()
        await app.state.push_hub.close()
        await session.close()
        await redis.aclose()

    app = create_service_app(title="gateway", lifespan=lifespan, with_middleware=False,
                             openapi_url=None)

    @app.get("/openapi.json", include_in_schema=False)
    async def merged_openapi(request: Request) -> dict:
        return await request.app.state.openapi.document()

    @app.websocket("/ws")
    async def live_notifications(websocket: WebSocket) -> None:
        """Live notifications of the signed-in user (see `ws.py` for the token and fan-out)."""
        await serve_socket(websocket, app.state.keys, app.state.push_hub)

    app.state.ready_checks = {"redis": lambda: app.state.redis.ping()}
    dispatch = Dispatch(app)
    # Middlewares wrap the dispatcher so proxied requests get them too (outermost first).
    wrapped: ASGIApp = BodySizeLimitMiddleware(dispatch, max_bytes=settings.max_body_bytes)
    wrapped = CORSMiddleware(wrapped, allow_origins=settings.cors_origins, allow_credentials=True,
                             allow_methods=["*"], allow_headers=["*"],
                             expose_headers=["Retry-After", "ETag", "X-Request-ID", "X-Cart-Token"])
    wrapped = RequestContextMiddleware(wrapped)
    return LifespanAware(wrapped, app)


class LifespanAware:
    """Runs the FastAPI app's lifespan while the middleware stack serves requests."""

    def __init__(self, stack: ASGIApp, app: FastAPI):
        self.stack = stack
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await self.app(scope, receive, send)
        else:
            await self.stack(scope, receive, send)
