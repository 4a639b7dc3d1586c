"""Shelves over HTTP: personal lists with their model version, filters (bought, out of stock),
cold start (popularity, content, category), item and cart shelves, bad input, and a corrupted
publication that never replaces the last good one."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import orjson
import redis as redis_lib

from services.catalog.events import ProductCreated
from services.inventory.events import StockChanged
from services.orders.events import OrderLine, OrderPlaced
from services.recommendations.app import create_app
from services.recommendations.settings import RecommendationsSettings
from services.recommendations.store import POINTER, PUBLICATIONS, pub_key
from tests.services.recommendations.conftest import Stack, eventually
from tests.support.servers import serve


def ids(body: dict) -> list[str]:
    return [i["product_id"] for i in body["items"]]


def stock(sku: str, available: int) -> StockChanged:
    return StockChanged(sku=sku, on_hand=available, reserved=0, available=available,
                        in_stock=available > 0, cause="adjustment")


def order(user_id: str, *products: str) -> OrderPlaced:
    lines = [OrderLine(sku="SKU" + p[1:], product_id=p, quantity=1, unit_price_minor=100) for p in products]
    return OrderPlaced(order_id="O1", user_id=user_id, lines=lines, subtotal_minor=100 * len(lines),
                       total_minor=100 * len(lines), currency="EUR")


def test_nothing_published_yet_is_a_clear_503(stack: Stack, redis_url: str,
                                              redis_client: redis_lib.Redis) -> None:
    app = create_app(RecommendationsSettings(redis_url=redis_url, data_dir=stack.data,
                                             jwks_url=stack.jwks_url, consume_events=False))
    with serve(app) as base, httpx.Client(base_url=base) as client:
        r = client.get("/api/recommendations/popular")
    assert r.status_code == 503 and r.headers["content-type"] == "application/problem+json"
    assert r.json()["type"].endswith("recommendations-not-published")


def test_personal_shelf_carries_the_model_version(stack: Stack, publish: Callable[..., str]) -> None:
    user, auth = stack.auth("reader@example.com")
    publication = publish({user: ["P2", "P3", "P4", "P5"]})
    r = stack.http.get("/api/recommendations/me", headers=auth, params={"limit": 3})
    assert r.status_code == 200, r.text
    body = r.json()
    assert ids(body) == ["P2", "P3", "P4"] and body["total"] == 3
    assert body["model"] == "ease@v0007" and body["source"] == "personal"
    assert body["publication"] == publication
    # a short personal list is topped up from popularity, below every personal item
    full = stack.http.get("/api/recommendations/me", headers=auth, params={"limit": 6}).json()
    assert ids(full) == ["P2", "P3", "P4", "P5", "P1", "P6"]
    assert full["items"][4]["score"] < full["items"][3]["score"]


def test_bought_and_out_of_stock_items_never_show(stack: Stack, publish: Callable[..., str],
                                                  emit: Callable) -> None:
    user, auth = stack.auth("filters@example.com")
    publish({user: ["P2", "P3", "P4", "P5"]}, bought={user: ["P2"]})

    def shelf() -> list[str]:
        return ids(stack.http.get("/api/recommendations/me", headers=auth, params={"limit": 3}).json())

    assert shelf() == ["P3", "P4", "P5"]
    emit(stock("SKU3", 0), "inventory")
    assert eventually(lambda: shelf() == ["P4", "P5", "P1"])
    popular = ids(stack.http.get("/api/recommendations/popular").json())
    assert "P3" not in popular and popular[:2] == ["P1", "P2"]
    emit(order(user, "P4"), "orders")  # bought since the nightly publication
    assert eventually(lambda: shelf() == ["P5", "P1", "P6"])
    emit(stock("SKU3", 4), "inventory")
    assert eventually(lambda: shelf() == ["P3", "P5", "P1"])


def test_unknown_shoppers_get_popularity_then_neighbours_of_their_purchases(
    stack: Stack, publish: Callable[..., str], emit: Callable
) -> None:
    known, _ = stack.auth("known@example.com")
    newcomer, auth = stack.auth("newcomer@example.com")
    publish({known: ["P4"]})
    body = stack.http.get("/api/recommendations/me", headers=auth, params={"limit": 4}).json()
    assert body["source"] == "popular" and body["model"] == "popularity@v0007"
    assert ids(body) == ["P1", "P2", "P3", "P4"]
    emit(order(newcomer, "P1"), "orders")
    body = eventually(lambda: (b := stack.http.get("/api/recommendations/me", headers=auth,
                                                   params={"limit": 3}).json())["source"]
                      == "similar_to_purchases" and b)
    assert body and ids(body) == ["P2", "P3", "P4"] and body["model"] == "ease@v0007"


def test_someone_elses_shelf_needs_the_admin_role(stack: Stack, publish: Callable[..., str]) -> None:
    other, _ = stack.auth("other@example.com")
    _, customer = stack.auth("curious@example.com")
    _, admin = stack.auth("marketing@example.com", admin=True)
    publish({other: ["P3"]})
    assert stack.http.get(f"/api/recommendations/users/{other}", headers=customer).status_code == 403
    assert stack.http.get(f"/api/recommendations/users/{other}").status_code == 401
    r = stack.http.get(f"/api/recommendations/users/{other}", headers=admin, params={"limit": 1})
    assert r.status_code == 200 and ids(r.json()) == ["P3"]
    status = stack.http.get("/api/recommendations/status", headers=admin).json()
    assert status["model"] == "ease@v0007" and status["users"] == 1 and status["items"] == 9


def test_item_shelves_and_cold_items(stack: Stack, publish: Callable[..., str], emit: Callable) -> None:
    publish({})
    get = stack.http.get
    similar = get("/api/recommendations/items/P1/similar", params={"limit": 3}).json()
    assert ids(similar) == ["P2", "P3", "P4"] and similar["source"] == "similar"  # topped up: Home
    text = get("/api/recommendations/items/P9/similar", params={"limit": 1}).json()
    assert text["source"] == "content" and ids(text) == ["P1"]
    emit(ProductCreated(product_id="P10", sku="SKU10", title="Trail shoes", category_path=["Sports"],
                        price_minor=5000, currency="EUR"), "catalog")
    fresh = eventually(lambda: get("/api/recommendations/items/P10/similar").json())
    assert fresh["source"] == "category_popular" and ids(fresh)[:4] == ["P5", "P6", "P7", "P8"]
    missing = get("/api/recommendations/items/NOPE/similar")
    assert missing.status_code == 404 and missing.json()["type"].endswith("unknown-product")
    assert get("/api/recommendations/items/bad%20id!/similar").status_code == 422

    together = get("/api/recommendations/items/P1/bought-together").json()
    assert ids(together) == ["P5", "P2"] and together["source"] == "bought_together"
    assert get("/api/recommendations/items/P3/bought-together").json()["items"] == []
    assert get("/api/recommendations/items/NOPE/bought-together").status_code == 404
    category = get("/api/recommendations/popular", params={"category": "Sports", "limit": 2}).json()
    assert ids(category) == ["P5", "P6"] and category["source"] == "category_popular"
    assert get("/api/recommendations/popular", params={"category": "Garden"}).status_code == 404


def test_cart_shelf(stack: Stack, publish: Callable[..., str]) -> None:
    publish({})
    post = stack.http.post
    body = post("/api/recommendations/cart", json={"product_ids": ["P1", "P5"], "limit": 4}).json()
    assert body["source"] == "cart" and body["model"] == "ease@v0007"
    assert set(ids(body)[:2]) == {"P2", "P6"} and not {"P1", "P5"} & set(ids(body))
    unknown = post("/api/recommendations/cart", json={"product_ids": ["PX"], "limit": 2}).json()
    assert unknown["source"] == "popular" and ids(unknown) == ["P1", "P2"]
    for bad in ({"product_ids": []}, {"product_ids": ["P1"], "extra": 1},
                {"product_ids": ["P1"], "limit": 500}, {"product_ids": ["no spaces"]}):
        r = post("/api/recommendations/cart", json=bad)
        assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json", bad
    r = post("/api/recommendations/cart", content=b"{", headers={"content-type": "application/json"})
    assert r.status_code == 400
    for limit in (0, 51):
        assert stack.http.get("/api/recommendations/popular", params={"limit": limit}).status_code == 422


def test_a_corrupted_publication_never_replaces_the_last_good_one(
    stack: Stack, publish: Callable[..., str], redis_client: redis_lib.Redis
) -> None:
    user, auth = stack.auth("corrupt@example.com")
    good = publish({user: ["P3"]})
    assert stack.http.get("/api/recommendations/me", headers=auth).json()["publication"] == good
    redis_client.set(pub_key("broken", "meta"), b"{not json")
    redis_client.set(POINTER, "broken")
    body = stack.http.get("/api/recommendations/me", headers=auth, params={"limit": 1}).json()
    assert body["publication"] == good and ids(body) == ["P3"]
    redis_client.set(pub_key("half", "meta"), orjson.dumps({"complete": False}))
    redis_client.set(POINTER, "half")
    assert stack.http.get("/api/recommendations/me", headers=auth).json()["publication"] == good
    # one unreadable list: that shopper gets popularity, nobody gets a 500
    redis_client.set(POINTER, good)
    redis_client.set(pub_key(good, "user", user), b"\x00garbage")
    body = stack.http.get("/api/recommendations/me", headers=auth, params={"limit": 2}).json()
    assert body["source"] == "popular" and ids(body) == ["P1", "P2"]


def test_publications_switch_by_pointer_and_old_ones_are_pruned(
    stack: Stack, publish: Callable[..., str], redis_client: redis_lib.Redis
) -> None:
    first = publish({"U1": ["P1"]})
    second = publish({"U1": ["P2"]}, version="v0008")
    third = publish({"U1": ["P3"]}, version="v0009")
    assert redis_client.get(POINTER).decode() == third
    assert [p.decode() for p in redis_client.lrange(PUBLICATIONS, 0, -1)] == [third, second]
    assert not list(redis_client.scan_iter(match=pub_key(first, "*")))
    assert redis_client.exists(pub_key(second, "user", "U1"))
    body = stack.http.get("/api/recommendations/popular").json()
    assert body["publication"] == third and body["model"] == "popularity@v0009"
