"""Builds the recommendations service (`uvicorn services.recommendations.app:create_app --factory`).

No SQL database: the nightly publication, the live signals and the offer rules live in Redis
(see `store.py`); the warehouse snapshot is read only to grant offers on demand.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from services.platform.app import create_service_app
from services.platform.auth import VerifiedTokens, remote_keyset
from services.platform.logging import configure_logging
from services.platform.redis import resolve_redis_url, sync_client
from services.recommendations.api import router
from services.recommendations.service import Offers, Recommendations
from services.recommendations.settings import RecommendationsSettings
from services.recommendations.signals import build_consumer, run_in_thread
from services.recommendations.store import PublishedStore
from warehouse.reader import WarehouseReader
from warehouse.settings import WarehouseSettings

Settings = RecommendationsSettings


def create_app(settings: RecommendationsSettings | None = None) -> FastAPI:
    settings = settings or RecommendationsSettings()
    configure_logging(settings.service_name, settings.log_level)
    reader = WarehouseReader(WarehouseSettings(data_dir=settings.data_dir).warehouse_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = await asyncio.to_thread(resolve_redis_url, settings.redis_url, settings.data_dir)
        redis = sync_client(url)
        app.state.redis = redis
        app.state.recommendations = Recommendations(PublishedStore(redis, check_s=settings.pointer_check_s))
        app.state.offers = Offers(redis)
        signals = run_in_thread(build_consumer(sync_client(url))) if settings.consume_events else None
        yield
        if signals:
            thread, stop = signals
            stop.set()
            await asyncio.to_thread(thread.join, 5)
        reader.close()

    app = create_service_app(title="recommendations", lifespan=lifespan,
                             max_body_bytes=settings.max_body_bytes,
                             description="Shelves from the published recommenders; personal offers.")
    app.state.settings = settings
    app.state.reader = reader
    app.state.tokens = VerifiedTokens(remote_keyset(settings.jwks_url))
    app.state.ready_checks = {"redis": lambda: run_in_threadpool(app.state.redis.ping)}
    app.include_router(router)
    return app
