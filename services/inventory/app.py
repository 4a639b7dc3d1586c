"""Builds the inventory service's FastAPI app (`uvicorn services.inventory.app:create_app --factory`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from services.inventory.api import router
from services.inventory.domain import InventoryRuleError
from services.inventory.service import Inventory
from services.inventory.settings import InventorySettings
from services.platform.app import create_service_app
from services.platform.auth import VerifiedTokens, remote_keyset
from services.platform.db import Database
from services.platform.errors import ProblemResponse, problem_body
from services.platform.logging import configure_logging

MIGRATIONS = Path(__file__).parent / "migrations"
Settings = InventorySettings


def database(settings: InventorySettings) -> Database:
    return Database(settings.sqlalchemy_url, migrations=MIGRATIONS,
                    version_table="alembic_version_inventory", echo=settings.database_echo)



def create_app(settings: InventorySettings | None = None) -> FastAPI:
    settings = settings or InventorySettings()
    configure_logging(settings.service_name, settings.log_level)
    db = database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(db.migrate)
        yield
        db.dispose()

    app = create_service_app(title="inventory", lifespan=lifespan,
                             max_body_bytes=settings.max_body_bytes,
                             description="Stock per SKU and warehouse, reservations, back-in-stock.")
    keys = remote_keyset(settings.jwks_url)
    app.state.settings = settings
    app.state.db = db
    app.state.keys = keys
    app.state.tokens = VerifiedTokens(keys)
    app.state.inventory = Inventory(db=db, settings=settings)
    app.state.ready_checks = {"database": lambda: run_in_threadpool(db.ping)}

    @app.exception_handler(InventoryRuleError)
    async def _rule(request: Request, exc: InventoryRuleError) -> ProblemResponse:
        body = problem_body(exc.status, exc.slug, exc.detail, instance=request.url.path,
                            extra=exc.extra or None)
        return ProblemResponse(body, status_code=exc.status)

    app.include_router(router)
    return app
