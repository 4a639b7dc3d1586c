"""Builds the notifications service's FastAPI app
(`uvicorn services.notifications.app:create_app --factory`).

The app serves the notification centre, preferences, unsubscribe links, admin campaigns and the
dev mailbox; consuming and sending happen in the worker process (`services.notifications.worker`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from services.notifications.api import router
from services.notifications.service import Centre, Planner, utcnow
from services.notifications.settings import NotificationsSettings
from services.notifications.templates import Renderer
from services.platform.app import create_service_app
from services.platform.auth import KeySet, VerifiedTokens, remote_keyset
from services.platform.db import Database
from services.platform.logging import configure_logging

MIGRATIONS = Path(__file__).parent / "migrations"
Settings = NotificationsSettings


def database(settings: NotificationsSettings) -> Database:
    return Database(settings.sqlalchemy_url, migrations=MIGRATIONS,
                    version_table="alembic_version_notifications", echo=settings.database_echo)


def create_app(settings: NotificationsSettings | None = None, *, keys: KeySet | None = None) -> FastAPI:
    """`keys` lets a test hand in a key set; otherwise keys come from the users service's JWKS."""
    settings = settings or NotificationsSettings()
    configure_logging(settings.service_name, settings.log_level)
    db = database(settings)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(db.migrate)
        yield
        db.dispose()

    app = create_service_app(title="notifications", lifespan=lifespan,
                             max_body_bytes=settings.max_body_bytes,
                             description="Notification centre, preferences, unsubscribe links, "
                                         "campaigns and the development mailbox.")
    app.state.settings = settings
    app.state.db = db
    app.state.keys = keys or remote_keyset(settings.jwks_url)
    app.state.tokens = VerifiedTokens(app.state.keys)
    planner = Planner(settings=settings, renderer=Renderer(), clock=utcnow)
    app.state.centre = Centre(db=db, settings=settings, planner=planner)
    app.state.ready_checks = {"database": lambda: run_in_threadpool(db.ping)}
    app.include_router(router)
    return app
