"""Builds the catalog service's FastAPI app (`uvicorn services.catalog.app:create_app --factory`).

The app only reads the search index; the catalog-indexer process (`services.catalog.indexer`)
writes it from the catalog's events.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from fastapi import FastAPI
from redis import Redis
from starlette.concurrency import run_in_threadpool
from starlette.staticfiles import StaticFiles

from search.backend import SearchBackend
from search.config import SearchSettings, make_backend
from services.catalog.api import router
from services.catalog.browse import Browse
from services.catalog.photos import MEDIA_PREFIX
from services.catalog.reviews import Reviews
from services.catalog.service import Catalog
from services.catalog.settings import CatalogSettings
from services.platform.app import create_service_app
from services.platform.auth import KeySet, VerifiedTokens
from services.platform.db import Database
from services.platform.logging import configure_logging

MIGRATIONS = Path(__file__).parent / "migrations"
Settings = CatalogSettings


def database(settings: CatalogSettings) -> Database:
    return Database(settings.sqlalchemy_url, migrations=MIGRATIONS,
                    version_table="alembic_version_catalog", echo=settings.database_echo)


def worker_resources(name: str) -> tuple[CatalogSettings, Database, Redis]:
    """What a catalog background process (indexer, purchases) starts with: settings, JSON logs
    under its own name, the migrated database and a Redis client."""
    from services.platform.redis import resolve_redis_url, sync_client

    settings = CatalogSettings()
    configure_logging(name, settings.log_level)
    db = database(settings)
    db.migrate()
    return settings, db, sync_client(resolve_redis_url(settings.redis_url, settings.data_dir))


def make_search_backend(settings: CatalogSettings) -> SearchBackend:
    return make_backend(SearchSettings(opensearch_url=settings.opensearch_url,
                                       search_dir=settings.search_dir,
                                       search_index=settings.search_index))


class MediaFiles(StaticFiles):
    """Photo files never change (new upload, new name), so browsers may keep them forever."""

    def file_response(self, *args: object, **kwargs: object):  # type: ignore[no-untyped-def]
        response = super().file_response(*args, **kwargs)  # type: ignore[arg-type]
        response.headers["Cache-Control"] = "public, max-age=31536000, immutable"
        return response


def jwks_fetcher(url: str) -> Callable[[], dict[str, Any]]:
    """Keys are fetched on the first token with an unknown `kid` (KeySet rate-limits it)."""

    def fetch() -> dict[str, Any]:
        response = httpx.get(url, timeout=2)
        response.raise_for_status()
        return response.json()

    return fetch


def create_app(settings: CatalogSettings | None = None, *, keys: KeySet | None = None) -> FastAPI:
    """`keys` lets a test hand in a key set; otherwise keys come from the users service's JWKS."""
    settings = settings or CatalogSettings()
    configure_logging(settings.service_name, settings.log_level)
    db = database(settings)
    settings.photos_dir.mkdir(parents=True, exist_ok=True)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        await run_in_threadpool(db.migrate)
        backend = await run_in_threadpool(make_search_backend, settings)
        app.state.browse = Browse(backend)
        yield
        backend.close()
        db.dispose()

    app = create_service_app(title="catalog", lifespan=lifespan,
                             max_body_bytes=settings.max_body_bytes,
                             description="Products, categories, photos, reviews and search.")
    app.state.settings = settings
    app.state.db = db
    app.state.keys = keys or KeySet(fetch=jwks_fetcher(settings.effective_jwks_url),
                                    min_refresh_s=5)
    app.state.tokens = VerifiedTokens(app.state.keys)
    app.state.catalog = Catalog(db=db, settings=settings)
    app.state.reviews = Reviews(db=db)
    app.state.ready_checks = {"database": lambda: run_in_threadpool(db.ping)}
    app.include_router(router)
    app.mount(MEDIA_PREFIX, MediaFiles(directory=settings.photos_dir), name="media")
    return app
