"""Builds the orders service's FastAPI app (`uvicorn services.orders.app:create_app --factory`).

The saga worker runs inside the service process (a thread): on every start it resumes the
sagas that a previous process left in flight, as soon as their leases run out.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from services.orders.api import admin, router
from services.orders.clients import Neighbours
from services.orders.domain import OrderRuleError
from services.orders.saga import SagaRunner, SagaWorker
from services.orders.service import Orders
from services.orders.settings import OrdersSettings
from services.platform.app import create_service_app
from services.platform.auth import VerifiedTokens, remote_keyset
from services.platform.db import Database
from services.platform.errors import ProblemResponse, problem_body
from services.platform.logging import configure_logging

MIGRATIONS = Path(__file__).parent / "migrations"
Settings = OrdersSettings


def database(settings: OrdersSettings) -> Database:
    return Database(settings.sqlalchemy_url, migrations=MIGRATIONS,
                                version_table="alembic_version_orders", echo=settings.database_echo)


def build_orders(settings: OrdersSettings, db: Database) -> Orders:
    neighbours = Neighbours(settings)
    runner = SagaRunner(db=db, settings=settings, neighbours=neighbours)
    return Orders(db=db, settings=settings, neighbours=neighbours, runner=runner)


def create_app(settings: OrdersSettings | None = None) -> FastAPI:
    settings = settings or OrdersSettings()
    configure_logging(settings.service_name, settings.log_level)
    db = database(settings)
    orders = build_orders(settings, db)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(db.migrate)
        stop = threading.Event()
        worker = None
        if settings.saga_worker:
            worker = threading.Thread(target=SagaWorker(orders.runner, settings).run, args=(stop,),
                                      daemon=True, name="saga-worker")
            worker.start()
        yield
        stop.set()
        if worker is not None:
            worker.join(timeout=10)
        db.dispose()

    app = create_service_app(title="orders", lifespan=lifespan, max_body_bytes=settings.max_body_bytes,
                             description="Orders and the checkout saga (stock, payment, shipment).")
    app.state.settings = settings
    app.state.db = db
    app.state.tokens = VerifiedTokens(remote_keyset(settings.jwks_url))
    app.state.orders = orders
    app.state.ready_checks = {"database": lambda: run_in_threadpool(db.ping)}

    @app.exception_handler(OrderRuleError)
    async def _rule(request: Request, exc: OrderRuleError) -> ProblemResponse:
        body = problem_body(exc.status, exc.slug, exc.detail, instance=request.url.path,
                            extra=exc.extra or None)
        return ProblemResponse(body, status_code=exc.status)

    app.include_router(admin)
    app.include_router(router)
    return app
