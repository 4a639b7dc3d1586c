"""Builds the payments service's FastAPI app (`uvicorn services.payments.app:create_app --factory`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from services.payments.api import router
from services.payments.domain import PaymentRuleError
from services.payments.idempotency import IdempotentRunner
from services.payments.service import Payments
from services.payments.settings import PaymentsSettings
from services.platform.app import create_service_app
from services.platform.auth import VerifiedTokens, remote_keyset
from services.platform.db import Database
from services.platform.errors import ProblemResponse, problem_body
from services.platform.logging import configure_logging

MIGRATIONS = Path(__file__).parent / "migrations"
Settings = PaymentsSettings


def database(settings: PaymentsSettings) -> Database:
    return Database(settings.sqlalchemy_url, migrations=MIGRATIONS,
                    version_table="alembic_version_payments", echo=settings.database_echo)



def create_app(settings: PaymentsSettings | None = None) -> FastAPI:
    settings = settings or PaymentsSettings()
    configure_logging(settings.service_name, settings.log_level)
    db = database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(db.migrate)
        yield
        db.dispose()

    app = create_service_app(title="payments", lifespan=lifespan,
                             max_body_bytes=settings.max_body_bytes,
                             description="Sandbox card processor, e-wallet, crypto invoices, "
                                         "refunds and a double-entry ledger.")
    keys = remote_keyset(settings.jwks_url)
    app.state.settings = settings
    app.state.db = db
    app.state.tokens = VerifiedTokens(keys)
    app.state.payments = Payments(db=db, settings=settings)
    app.state.idempotency = IdempotentRunner(db, wait_s=settings.idempotency_wait_s,
                                             stale_s=settings.idempotency_stale_s)
    app.state.ready_checks = {"database": lambda: run_in_threadpool(db.ping)}

    @app.exception_handler(PaymentRuleError)
    async def _rule(request: Request, exc: PaymentRuleError) -> ProblemResponse:
        body = problem_body(exc.status, exc.slug, exc.detail, instance=request.url.path,
                            extra=exc.extra or None)
        return ProblemResponse(body, status_code=exc.status)

    app.include_router(router)
    return app
