"""Search, browse, autocomplete and suggestions over HTTP, on an index the real indexer built;
stock status from inventory events; and the bad-input list of the issue (never a 500)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import redis as redis_lib

from services.catalog.indexer import Indexer
from services.inventory.events import StockChanged
from services.platform.events import Event, make_event, stream_for
from tests.services.catalog.conftest import CatalogService
from tests.services.catalog.test_products import problem

PRODUCTS = [  # sku, title, brand, category, price, stock
    ("PH-1", "Apple iPhone 9 smartphone", "Apple", "electronics/phones", 54900, 12),
    ("PH-2", "Samsung Galaxy S8 smartphone", "Samsung", "electronics/phones", 49900, 0),
    ("PH-3", "Oppo F19 budget smartphone", "Oppo", "electronics/phones", 24900, 3),
    ("LP-1", "Apple MacBook Pro laptop", "Apple", "electronics/laptops", 199900, 5),
    ("SH-1", "Leather running shoes", "Nike", "fashion/shoes", 8900, 40),
    ("SH-2", "Canvas sneakers shoes", "Vans", "fashion/shoes", 5900, 0),
    ("KN-1", "Chef knife with walnut handle", "Victorinox", "home/knives", 3900, 9),
]


def stock_event(sku: str, available: int, at: datetime | None = None) -> Event:
    event = make_event(StockChanged(sku=sku, on_hand=available, reserved=0, available=available,
                                    in_stock=available > 0, cause="adjustment"),
                       source="inventory", subject=sku)
    return event.model_copy(update={"occurred_at": at}) if at else event


def publish(redis_url: str, *events: Event) -> None:
    client = redis_lib.Redis.from_url(redis_url)
    for event in events:
        client.xadd(stream_for(event.source), {"event": event.to_json()})
    client.close()


@pytest.fixture
def shop(catalog: CatalogService) -> Iterator[tuple[CatalogService, Indexer, dict[str, int]]]:
    for root, leaf in {tuple(p[3].split("/")) for p in PRODUCTS}:
        if catalog.http.get(f"/api/catalog/categories/{root}").status_code != 200:
            catalog.category(root.title(), slug=root)
        catalog.category(leaf.title(), parent=root, slug=leaf)
    ids = {}
    for sku, title, brand, category, price, _ in PRODUCTS:
        ids[sku] = catalog.product(sku, category, title=title, brand=brand, price_minor=price,
                                   description=f"{title} from {brand}.")["id"]
    for sku, stars in (("PH-1", (5, 4)), ("PH-2", (3,)), ("SH-1", (5,))):
        for i, n in enumerate(stars):
            r = catalog.http.post(f"/api/catalog/products/{ids[sku]}/reviews",
                                  headers=catalog.user(f"r{i}"), json={"rating": n})
            assert r.status_code == 201
    publish(catalog.redis_url, *(stock_event(p[0], p[5]) for p in PRODUCTS))
    indexer = catalog.indexer()
    indexer.bootstrap()
    catalog.sync_index(indexer)
    yield catalog, indexer, ids
    indexer.backend.close()


def search(catalog: CatalogService, path: str = "/api/catalog/search", **params: Any) -> Any:
    r = catalog.http.get(path, params=params)
    assert r.status_code == 200, r.text
    return r.json()


def skus(result: dict[str, Any]) -> list[str]:
    return [h["sku"] for h in result["items"]]


def test_full_text_search_with_facets_and_highlights(shop) -> None:  # type: ignore[no-untyped-def]
    catalog, _, _ = shop
    result = search(catalog, q="smartphone", facets="brand,category", highlight="true")
    assert set(skus(result)) == {"PH-1", "PH-2", "PH-3"} and result["total"] == 3
    assert "<b>" in result["items"][0]["highlights"]["title"]
    brands = {b["key"]: b["count"] for b in result["facets"]["brand"]}
    assert brands == {"Apple": 1, "Samsung": 1, "Oppo": 1}
    cats = {b["key"]: b["count"] for b in result["facets"]["category"]}
    assert cats["electronics"] == 3 and cats["electronics/phones"] == 3
    assert search(catalog, q="smartphnoe")["total"] == 3  # a typo still finds them
    top = search(catalog, q="apple laptop")["items"][0]
    assert top["sku"] == "LP-1" and top["price_minor"] == 199900 and top["in_stock"] is True


def test_filters_sorts_and_pages(shop) -> None:  # type: ignore[no-untyped-def]
    catalog, _, _ = shop
    assert set(skus(search(catalog, category="electronics"))) == {"PH-1", "PH-2", "PH-3", "LP-1"}
    assert set(skus(search(catalog, category="fashion/shoes"))) == {"SH-1", "SH-2"}
    cheap = search(catalog, "/api/catalog/products", price_min=5000, price_max=30000,
                   sort="price_asc")
    assert skus(cheap) == ["SH-2", "SH-1", "PH-3"]
    assert skus(search(catalog, brand=["Apple", "Vans"], sort="price_desc")) == \
        ["LP-1", "PH-1", "SH-2"]
    assert set(skus(search(catalog, min_rating=4.5))) == {"PH-1", "SH-1"}
    in_stock = search(catalog, category="electronics/phones", in_stock="true")
    assert set(skus(in_stock)) == {"PH-1", "PH-3"}
    pages = [search(catalog, "/api/catalog/products", sort="price_asc", size=3, page=p)
             for p in (1, 2, 3)]
    assert [len(p["items"]) for p in pages] == [3, 3, 1] and pages[0]["pages"] == 3
    assert len({s for p in pages for s in skus(p)}) == 7
    beyond = search(catalog, "/api/catalog/products", size=3, page=50)
    assert beyond["items"] == [] and beyond["total"] == 7


def test_autocomplete_and_relaxed_suggestion(shop) -> None:  # type: ignore[no-untyped-def]
    catalog, _, _ = shop
    done = search(catalog, "/api/catalog/autocomplete", q="sams")
    assert done["suggestions"] == ["Samsung Galaxy S8 smartphone"]
    assert search(catalog, "/api/catalog/autocomplete", q="")["suggestions"] == []
    nothing = search(catalog, q="walnut smartphone zebra")
    assert nothing["total"] == 0 and nothing["suggestion"]["total"] > 0
    relaxed = search(catalog, "/api/catalog/suggest", q="walnut knife zebra")
    assert relaxed["suggestion"]["q"] == "walnut knife"


def test_stock_status_follows_inventory_events(shop) -> None:  # type: ignore[no-untyped-def]
    catalog, indexer, ids = shop
    detail = catalog.http.get(f"/api/catalog/products/{ids['PH-3']}").json()["availability"]
    assert detail["status"] == "low_stock" and detail["available"] == 3
    assert catalog.http.get(f"/api/catalog/products/{ids['PH-2']}").json()["availability"][
        "status"] == "out_of_stock"
    now = datetime.now(UTC)
    publish(catalog.redis_url, stock_event("PH-2", 30, now + timedelta(seconds=5)),
            stock_event("PH-2", 0, now - timedelta(hours=1)))  # late and stale: ignored
    catalog.sync_index(indexer)
    assert catalog.http.get(f"/api/catalog/products/{ids['PH-2']}").json()["availability"] == {
        "status": "in_stock", "available": 30,
        "as_of": (now + timedelta(seconds=5)).isoformat().replace("+00:00", "Z")}
    in_stock = search(catalog, category="electronics/phones", in_stock="true")
    assert set(skus(in_stock)) == {"PH-1", "PH-2", "PH-3"}
    publish(catalog.redis_url, stock_event("UNKNOWN-SKU", 4))  # stock before the product: kept
    catalog.sync_index(indexer)
    pid = catalog.product("UNKNOWN-SKU", "home/knives")["id"]
    assert catalog.http.get(f"/api/catalog/products/{pid}").json()["availability"][
        "available"] == 4


def test_reviews_and_deletes_reach_the_index(shop) -> None:  # type: ignore[no-untyped-def]
    catalog, indexer, ids = shop
    catalog.http.post(f"/api/catalog/products/{ids['KN-1']}/reviews",
                      headers=catalog.user("z"), json={"rating": 4})
    catalog.http.delete(f"/api/catalog/products/{ids['SH-2']}", headers=catalog.admin)
    catalog.sync_index(indexer)
    knife = search(catalog, q="chef knife")["items"][0]
    assert (knife["rating_avg"], knife["rating_count"]) == (4.0, 1)
    assert "SH-2" not in skus(search(catalog, q="sneakers shoes"))


BAD_QUERIES: list[tuple[dict[str, Any], int]] = [
    ({"q": "x" * 10_000}, 422),
    ({"price_min": 500, "price_max": 100}, 422),
    ({"price_min": -5}, 422),
    ({"sort": "cheapest"}, 422),
    ({"facets": "colour"}, 422),
    ({"colour": "red"}, 422),
    ({"size": 1000}, 422),
    ({"page": 0}, 422),
    ({"page": 1_000_000, "size": 100}, 422),
    ({"min_rating": 6}, 422),
    ({"category": "../../etc/passwd"}, 422),
    ({"in_stock": "maybe"}, 422),
    ({"price_max": "1e309"}, 422),
    ({"brand": "x" * 200}, 422),
]


def test_bad_queries_get_problems_never_500(shop) -> None:  # type: ignore[no-untyped-def]
    catalog, _, _ = shop
    for params, status in BAD_QUERIES:
        r = catalog.http.get("/api/catalog/search", params=params)
        assert r.status_code == status, (params, r.text)
        assert r.headers["content-type"] == "application/problem+json"
    body = problem(catalog.http.get("/api/catalog/search",
                                    params={"price_min": 500, "price_max": 100}),
                   422, "invalid-query")
    assert body["errors"][0]["field"] == "query" or "price" in body["detail"]
    for q in ['"', "*", ":", "AND", "(", ")", "title:apple", "NOT OR AND", '"unclosed',
              "a" * 512, "🙂", "\\", "%", "[1 TO 2]", "apple^9", "-", ""]:
        r = catalog.http.get("/api/catalog/search", params={"q": q, "facets": "brand,price"})
        assert r.status_code == 200, (q, r.text)
        assert isinstance(r.json()["items"], list)
    assert catalog.http.get("/api/catalog/autocomplete", params={"q": "(*:"}).json()[
        "suggestions"] == []
    problem(catalog.http.get("/api/catalog/autocomplete", params={"q": "x" * 101}),
            422, "validation-error")
