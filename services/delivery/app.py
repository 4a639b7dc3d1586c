"""Builds the delivery service's FastAPI app (`uvicorn services.delivery.app:create_app --factory`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from services.delivery.api import router
from services.delivery.domain import DeliveryRuleError
from services.delivery.service import Delivery
from services.delivery.settings import DeliverySettings
from services.platform.app import create_service_app
from services.platform.auth import VerifiedTokens, remote_keyset
from services.platform.db import Database
from services.platform.errors import ProblemResponse, problem_body
from services.platform.logging import configure_logging

MIGRATIONS = Path(__file__).parent / "migrations"
Settings = DeliverySettings


def database(settings: DeliverySettings) -> Database:
    return Database(settings.sqlalchemy_url, migrations=MIGRATIONS,
                    version_table="alembic_version_delivery", echo=settings.database_echo)


def create_app(settings: DeliverySettings | None = None) -> FastAPI:
    settings = settings or DeliverySettings()
    configure_logging(settings.service_name, settings.log_level)
    db = database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(db.migrate)
        yield
        db.dispose()

    app = create_service_app(title="delivery", lifespan=lifespan,
                             max_body_bytes=settings.max_body_bytes,
                             description="Carrier quotes, shipments, tracking and carrier webhooks.")
    keys = remote_keyset(settings.jwks_url)
    app.state.settings = settings
    app.state.db = db
    app.state.tokens = VerifiedTokens(keys)
    app.state.delivery = Delivery(db=db, settings=settings)
    app.state.ready_checks = {"database": lambda: run_in_threadpool(db.ping)}

    @app.exception_handler(DeliveryRuleError)
    async def _rule(request: Request, exc: DeliveryRuleError) -> ProblemResponse:
        body = problem_body(exc.status, exc.slug, exc.detail, instance=request.url.path,
                            extra=exc.extra or None)
        return ProblemResponse(body, status_code=exc.status)

    app.include_router(router)
    return app
