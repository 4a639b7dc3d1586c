"""The one way every service builds its FastAPI app: same middlewares, errors and probes."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager

from fastapi import FastAPI

from services.platform.docs import install_docs
from services.platform.errors import install_error_handlers
from services.platform.health import router as health_router
from services.platform.middleware import (
    BodySizeLimitMiddleware,
    RequestContextMiddleware,
    UnhandledErrorMiddleware,
)

Lifespan = Callable[[FastAPI], AbstractAsyncContextManager[None]] | Callable[
    [FastAPI], AsyncIterator[None]
]


def create_service_app(
    *,
    title: str,
    version: str = "0.1.0",
    max_body_bytes: int = 1_048_576,
    lifespan: Lifespan | None = None,
    description: str | None = None,
    with_middleware: bool = True,
    openapi_url: str | None = "/openapi.json",
) -> FastAPI:
    """`with_middleware=False` when the caller wraps the app in the same middlewares itself."""
    app = FastAPI(
        title=title,
        version=version,
        description=description or "",
        lifespan=lifespan,
        docs_url=None,
        openapi_url=openapi_url,
        redoc_url=None,
    )
    install_docs(app)
    install_error_handlers(app)
    app.include_router(health_router)
    app.add_middleware(UnhandledErrorMiddleware)
    if with_middleware:
        app.add_middleware(BodySizeLimitMiddleware, max_bytes=max_body_bytes)
        app.add_middleware(RequestContextMiddleware)
    app.state.ready_checks = {}
    return app
