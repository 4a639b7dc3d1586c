"""Builds the analytics service (`uvicorn services.analytics.app:create_app --factory`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool
from starlette.staticfiles import StaticFiles

from services.analytics.api import router
from services.analytics.service import Intake, Reports
from services.analytics.settings import AnalyticsSettings
from services.platform.app import create_service_app
from services.platform.auth import VerifiedTokens, remote_keyset
from services.platform.logging import configure_logging
from services.platform.redis import resolve_redis_url, sync_client
from warehouse.reader import WarehouseReader
from warehouse.settings import WarehouseSettings

Settings = AnalyticsSettings


def create_app(settings: AnalyticsSettings | None = None) -> FastAPI:
    settings = settings or AnalyticsSettings()
    configure_logging(settings.service_name, settings.log_level)
    warehouse = WarehouseSettings(data_dir=settings.data_dir)
    reader = WarehouseReader(warehouse.warehouse_dir)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        url = await asyncio.to_thread(resolve_redis_url, settings.redis_url, settings.data_dir)
        app.state.intake = Intake(sync_client(url), settings)
        yield
        reader.close()

    app = create_service_app(title="analytics", lifespan=lifespan, max_body_bytes=settings.max_body_bytes,
                             description="Behaviour-event intake and marketing reports.")
    app.state.settings = settings
    app.state.tokens = VerifiedTokens(remote_keyset(settings.jwks_url))
    app.state.reports = Reports(reader, settings)
    app.state.ready_checks = {"redis": lambda: run_in_threadpool(app.state.intake.redis.ping)}
    app.include_router(router)
    docs = warehouse.gx_dir / "gx" / "uncommitted" / "data_docs" / "local_site"
    docs.mkdir(parents=True, exist_ok=True)
    # Great Expectations data docs (rebuilt by every check run); admins only through the gateway.
    app.mount("/api/analytics/quality", StaticFiles(directory=docs, html=True, check_dir=False),
              name="quality-docs")
    return app
