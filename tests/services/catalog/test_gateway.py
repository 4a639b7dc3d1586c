"""The real catalog behind the real gateway: route access rules for reviews vs admin writes,
cached public reads invalidated by the catalog's own events."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.gateway.app import create_app as create_gateway
from services.gateway.settings import GatewaySettings
from tests.services.catalog.conftest import CatalogService
from tests.support.servers import serve


@pytest.fixture
def gateway(catalog: CatalogService, redis_url: str, tmp_path: Path) -> Iterator[httpx.Client]:
    jwks_base = catalog.settings.effective_jwks_url.removesuffix("/.well-known/jwks.json")
    settings = GatewaySettings(redis_url=redis_url, data_dir=tmp_path,
                               upstreams={"users": jwks_base, "catalog": str(catalog.http.base_url)})
    with serve(create_gateway(settings)) as base, httpx.Client(base_url=base, timeout=10) as client:
        yield client


def test_review_routes_open_to_users_other_writes_to_admins(
    catalog: CatalogService, gateway: httpx.Client
) -> None:
    ann, bob = catalog.user("ann"), catalog.user("bob")
    assert gateway.post("/api/catalog/categories", headers=catalog.admin,
                        json={"name": "Tea"}).status_code == 201
    body = {"sku": "T-1", "title": "Green tea", "category": "tea", "price_minor": 450}
    assert gateway.post("/api/catalog/products", headers=ann, json=body).status_code == 403
    pid = gateway.post("/api/catalog/products", headers=catalog.admin, json=body).json()["id"]
    assert gateway.post(f"/api/catalog/products/{pid}/reviews", json={"rating": 5}).status_code \
        == 401
    review = gateway.post(f"/api/catalog/products/{pid}/reviews", headers=ann,
                          json={"rating": 5, "body": "Fresh"})
    assert review.status_code == 201, review.text
    rid = review.json()["id"]
    assert gateway.patch(f"/api/catalog/reviews/{rid}", headers=ann,
                         json={"rating": 4}).status_code == 200
    assert gateway.put(f"/api/catalog/reviews/{rid}/helpful", headers=bob).json()[
        "helpful_count"] == 1
    assert gateway.patch(f"/api/catalog/reviews/{rid}", headers=bob,
                         json={"rating": 1}).status_code == 403  # the service checks ownership
    assert gateway.post(f"/api/catalog/reviews/{rid}/hide", headers=ann).status_code == 403
    assert gateway.post(f"/api/catalog/reviews/{rid}/hide", headers=catalog.admin).status_code \
        == 200
    assert gateway.delete(f"/api/catalog/products/{pid}", headers=ann).status_code == 403


def test_cached_search_is_invalidated_by_catalog_events(
    catalog: CatalogService, gateway: httpx.Client
) -> None:
    catalog.category("Tea")
    catalog.product("T-1", "tea", title="Green tea")
    indexer = catalog.indexer()
    indexer.bootstrap()
    catalog.sync_index(indexer)
    first = gateway.get("/api/catalog/search", params={"q": "tea"})
    again = gateway.get("/api/catalog/search", params={"q": "tea"})
    assert (first.headers["x-cache"], again.headers["x-cache"]) == ("MISS", "HIT")
    assert again.json()["total"] == 1
    catalog.product("T-2", "tea", title="Black tea")
    catalog.sync_index(indexer)  # relays the event: the gateway's consumer drops its cache
    deadline = time.monotonic() + 5
    while gateway.get("/api/catalog/search", params={"q": "tea"}).json()["total"] != 2:
        assert time.monotonic() < deadline, "the cached answer was never invalidated"
        time.sleep(0.05)
    indexer.backend.close()
