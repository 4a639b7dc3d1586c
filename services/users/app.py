"""Builds the users service's FastAPI app (`uvicorn services.users.app:create_app --factory`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI
from starlette.concurrency import run_in_threadpool

from services.platform.app import create_service_app
from services.platform.auth import VerifiedTokens
from services.platform.db import Database
from services.platform.logging import configure_logging
from services.platform.redis import resolve_redis_url, sync_client
from services.users.api import router, wellknown
from services.users.keys import Keyring
from services.users.service import Accounts
from services.users.settings import UsersSettings

MIGRATIONS = Path(__file__).parent / "migrations"
Settings = UsersSettings
KEY_RELOAD_S = 60


def database(settings: UsersSettings) -> Database:
    return Database(settings.sqlalchemy_url, migrations=MIGRATIONS,
                    version_table="alembic_version_users", echo=settings.database_echo)


def build_accounts(settings: UsersSettings, db: Database, keyring: Keyring) -> Accounts:
    redis = sync_client(resolve_redis_url(settings.redis_url, settings.data_dir))
    return Accounts(db=db, keyring=keyring, redis=redis, settings=settings)


def create_app(settings: UsersSettings | None = None) -> FastAPI:
    settings = settings or UsersSettings()
    configure_logging(settings.service_name, settings.log_level)
    db = database(settings)
    keyring = Keyring()

    async def reload_keys_forever() -> None:
        # Picks up keys rotated by another instance or by `shop users rotate-key`.
        while True:
            await asyncio.sleep(KEY_RELOAD_S)
            with db.session() as session:
                await run_in_threadpool(keyring.load, session)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(db.migrate)
        with db.session() as session:
            keyring.load(session)
        app.state.accounts = await run_in_threadpool(build_accounts, settings, db, keyring)
        reloader = asyncio.create_task(reload_keys_forever())
        yield
        reloader.cancel()
        db.dispose()

    app = create_service_app(title="users", lifespan=lifespan, max_body_bytes=settings.max_body_bytes,
                             description="Accounts, sign-in, profiles and addresses.")
    app.state.settings = settings
    app.state.db = db
    app.state.keyring = keyring
    app.state.tokens = VerifiedTokens(keyring.keyset)
    app.state.ready_checks = {
        "database": lambda: run_in_threadpool(db.ping),
        "redis": lambda: run_in_threadpool(app.state.accounts.redis.ping),
    }
    app.include_router(wellknown)
    app.include_router(router)
    return app
