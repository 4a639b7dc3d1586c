"""Builds the cart service's FastAPI app (`uvicorn services.cart.app:create_app --factory`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from starlette.concurrency import run_in_threadpool

from services.cart.api import router
from services.cart.domain import CartRuleError
from services.cart.promotions import PromotionBook
from services.cart.service import Carts
from services.cart.settings import CartSettings
from services.cart.sources import HttpPriceSource, HttpStockSource, PriceSource, StockSource
from services.cart.store import CartStore
from services.platform.app import create_service_app
from services.platform.auth import VerifiedTokens, remote_keyset
from services.platform.errors import ProblemResponse, problem_body
from services.platform.logging import configure_logging
from services.platform.redis import resolve_redis_url, sync_client

Settings = CartSettings



def build_carts(settings: CartSettings, *, prices: PriceSource | None = None,
                stock: StockSource | None = None) -> Carts:
    redis = sync_client(resolve_redis_url(settings.redis_url, settings.data_dir))
    return Carts(store=CartStore(redis), promotions=PromotionBook(redis),
                 prices=prices or HttpPriceSource(settings.effective_catalog_url,
                                                  ttl_s=settings.price_cache_ttl_s),
                 stock=stock or HttpStockSource(settings.effective_inventory_url), settings=settings)


def create_app(settings: CartSettings | None = None) -> FastAPI:
    settings = settings or CartSettings()
    configure_logging(settings.service_name, settings.log_level)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        app.state.carts = await run_in_threadpool(build_carts, settings)
        yield
        for source in (app.state.carts.prices, app.state.carts.stock):
            source.close()
        app.state.carts.store.redis.close()

    app = create_service_app(title="cart", lifespan=lifespan, max_body_bytes=settings.max_body_bytes,
                             description="Carts, saved-for-later, promotions and checkout snapshots.")
    keys = remote_keyset(settings.jwks_url)
    app.state.settings = settings
    app.state.keys = keys
    app.state.tokens = VerifiedTokens(keys)
    app.state.ready_checks = {"redis": lambda: run_in_threadpool(app.state.carts.store.redis.ping)}

    @app.exception_handler(CartRuleError)
    async def _rule(request: Request, exc: CartRuleError) -> ProblemResponse:
        body = problem_body(exc.status, exc.slug, exc.detail, instance=request.url.path,
                            extra=exc.extra or None)
        return ProblemResponse(body, status_code=exc.status)

    app.include_router(router)
    return app
