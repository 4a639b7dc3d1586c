"""Builds the orders service's FastAPI app (`uvicorn services.orders.app:create_app --factory`).

The saga worker runs inside the service process (a thread): on every start it resumes the
sagas that a previous process left in flight, as soon as their leases run out.
"""

from __future__ import annotations

import threading
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from sqlalchemy.orm import Session
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


class SerialWriterDatabase(Database):
    """On SQLite, the process's writers queue on a lock instead of in SQLite's busy handler.

    SQLite has one writer at a time; a writer that finds the lock taken sleeps in the busy
    handler with a growing backoff (up to 100 ms a try) however soon the lock frees. A saga
    writes a few short transactions per step, so with 20 checkouts in flight that sleeping, not
    the work, was most of a checkout's latency. A lock in the process wakes the next writer at
    once; other processes (the outbox relay) still meet the busy handler, rarely."""

    def __init__(self, url: str, **kwargs: Any):
        super().__init__(url, **kwargs)
        self._writers = threading.RLock() if url.startswith("sqlite") else None

    @contextmanager
    def session(self) -> Iterator[Session]:
        if self._writers is None:
            with super().session() as session:
                yield session
            return
        with self._writers, super().session() as session:
            yield session


def database(settings: OrdersSettings) -> Database:
    return SerialWriterDatabase(settings.sqlalchemy_url, migrations=MIGRATIONS,
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
