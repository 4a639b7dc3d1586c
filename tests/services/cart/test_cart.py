"""Guest and user carts over HTTP: lines, saved-for-later, price changes, bad input, events."""

from __future__ import annotations

import concurrent.futures

from tests.services.cart.conftest import CartService, problem


def test_a_guest_gets_a_cart_token_and_a_priced_cart(cart: CartService) -> None:
    r = cart.add("1", 2)
    assert r.status_code == 200, r.text
    body = r.json()
    token = r.headers["X-Cart-Token"]
    assert body["cart_token"] == token and len(token) >= 40 and body["user_id"] is None
    line = body["items"][0]
    assert (line["sku"], line["title"], line["quantity"]) == ("MUG-1", "Mug", 2)
    assert line["unit_price_minor"] == 999
    assert body["totals"] == {"subtotal_minor": 1998, "discount_minor": 0, "shipping_minor": 499,
                              "shipping_discount_minor": 0, "total_minor": 2497, "saved_minor": 0}
    again = cart.http.get("/api/cart", headers={"X-Cart-Token": token}).json()
    assert again["cart_id"] == body["cart_id"] and again["cart_token"] is None
    assert cart.http.get("/api/cart").json()["items"] == []  # no token, no cart
    stranger = cart.http.get("/api/cart", headers={"X-Cart-Token": "x" * 43}).json()
    assert stranger["items"] == []
    [added] = cart.events("cart.item_added")
    assert added["data"] == {"cart_id": body["cart_id"], "session_id": None, "user_id": None,
                             "product_id": "1", "sku": "MUG-1", "quantity": 2,
                             "unit_price_minor": 999, "currency": "EUR"}
    assert added["source"] == "cart" and added["subject"] == body["cart_id"]


def test_a_made_up_token_is_never_adopted(cart: CartService) -> None:
    r = cart.add("1", 1, **{"X-Cart-Token": "a" * 43})
    assert r.headers["X-Cart-Token"] != "a" * 43


def test_user_cart_lines_quantities_and_their_events(cart: CartService) -> None:
    ann = {**cart.auth("ann"), "X-Session-Id": "s-1"}
    cart.add("1", 1, **ann)
    cart.add("1", 2, **ann)  # adds up
    cart.add("3", 1, **ann)
    body = cart.http.put("/api/cart/items/3", json={"quantity": 4}, headers=ann).json()
    assert [(i["product_id"], i["quantity"]) for i in body["items"]] == [("1", 3), ("3", 4)]
    assert body["user_id"] == "ann" and body["cart_token"] is None
    body = cart.http.delete("/api/cart/items/1", headers=ann).json()
    assert [i["product_id"] for i in body["items"]] == ["3"]
    body = cart.http.delete("/api/cart", headers=ann).json()
    assert body["items"] == [] and body["totals"]["total_minor"] == 0
    assert cart.http.get("/api/cart", headers=cart.auth("bob")).json()["items"] == []  # own cart only
    types = [e["type"] for e in cart.events()]
    assert types == ["cart.item_added"] * 3 + ["cart.quantity_changed", "cart.item_removed",
                                               "cart.item_removed"]
    changed = cart.events("cart.quantity_changed")[0]["data"]
    assert (changed["old_quantity"], changed["new_quantity"], changed["session_id"]) == (1, 4, "s-1")
    assert cart.events("cart.item_removed")[-1]["data"]["reason"] == "cleared"


def test_saved_for_later_round_trip(cart: CartService) -> None:
    token = cart.guest_cart(("1", 2), ("2", 1))
    h = {"X-Cart-Token": token}
    body = cart.http.post("/api/cart/items/2/save", headers=h).json()
    assert [i["product_id"] for i in body["items"]] == ["1"]
    saved = [(s["product_id"], s["quantity"], s["unit_price_minor"]) for s in body["saved"]]
    assert saved == [("2", 1, 4500)]
    assert body["totals"]["subtotal_minor"] == 1998
    body = cart.http.post("/api/cart/saved/2/move", headers=h).json()
    assert sorted(i["product_id"] for i in body["items"]) == ["1", "2"] and body["saved"] == []
    cart.http.post("/api/cart/items/1/save", headers=h)
    assert cart.http.delete("/api/cart/saved/1", headers=h).json()["saved"] == []
    problem(cart.http.delete("/api/cart/saved/1", headers=h), 404, "not-saved")
    assert cart.events("cart.item_removed")[0]["data"]["reason"] == "saved_for_later"


def test_bad_input_is_a_clear_4xx_and_writes_nothing(cart: CartService) -> None:
    token = cart.guest_cart(("1", 1))
    h = {"X-Cart-Token": token}
    before = len(cart.events())
    for quantity in (0, -1, 1000, 10**12, "two", None):
        problem(cart.http.post("/api/cart/items", json={"product_id": "1", "quantity": quantity},
                               headers=h), 422, "validation-error")
    problem(cart.add("1", 10, **h), 422, "per-item-limit")  # 1 + 10 > 10
    problem(cart.add("2", 6, **h), 409, "insufficient-stock")  # 5 knives
    problem(cart.add("999", 1, **h), 404, "unknown-product")
    problem(cart.add("4", 1, **h), 422, "wrong-currency")
    problem(cart.http.post("/api/cart/items", json={"product_id": "../1", "quantity": 1}, headers=h),
            422, "validation-error")
    problem(cart.http.post("/api/cart/items", json={"product_id": "1", "quantity": 1, "price": 1},
                           headers=h), 422, "validation-error")
    problem(cart.http.post("/api/cart/items", content=b"{",
                           headers={**h, "content-type": "application/json"}), 400, "malformed-json")
    problem(cart.http.put("/api/cart/items/3", json={"quantity": 2}, headers=h), 404, "not-in-cart")
    problem(cart.http.put("/api/cart/items/1", json={"quantity": 0}, headers=h), 422, "validation-error")
    problem(cart.http.delete("/api/cart/items/2", headers=h), 404, "not-in-cart")
    problem(cart.http.get("/api/cart", headers={"X-Cart-Token": "short"}), 422, "validation-error")
    problem(cart.http.get("/api/cart", headers={"Authorization": "Bearer nonsense"}), 401, "invalid-token")
    problem(cart.http.put("/api/cart/items/1", json={"quantity": 2}), 404, "no-cart")
    assert len(cart.events()) == before
    assert cart.http.get("/api/cart", headers=h).json()["items"][0]["quantity"] == 1


def test_a_changed_price_is_flagged_until_acknowledged(cart: CartService) -> None:
    ann = cart.auth("ann")
    cart.add("1", 2, **ann)
    cart.set_price("1", 1099)
    body = cart.http.get("/api/cart", headers=ann).json()
    line = body["items"][0]
    assert (line["unit_price_minor"], line["price_changed"]) == (1099, True)
    assert line["previous_unit_price_minor"] == 999
    assert body["price_changes"] is True and body["totals"]["subtotal_minor"] == 2198
    err = problem(cart.http.post("/api/cart/checkout", headers=ann), 409, "price-changed")
    assert err["changes"] == [{"product_id": "1", "was": 999, "now": 1099}]
    body = cart.http.post("/api/cart/prices/acknowledge", headers=ann).json()
    assert body["price_changes"] is False and body["items"][0]["previous_unit_price_minor"] is None
    assert cart.http.post("/api/cart/checkout", headers=ann).status_code == 201


def test_a_product_gone_from_the_catalog_is_flagged_and_blocks_checkout(cart: CartService) -> None:
    ann = cart.auth("ann")
    cart.add("1", 1, **ann)
    cart.add("3", 1, **ann)
    del cart.catalog.state.products["3"]
    body = cart.http.get("/api/cart", headers=ann).json()
    assert [(i["product_id"], i["unavailable"]) for i in body["items"]] == [("1", False), ("3", True)]
    assert body["totals"]["subtotal_minor"] == 999
    problem(cart.http.post("/api/cart/checkout", headers=ann), 409, "product-unavailable")


def test_a_catalog_outage_is_a_503_problem(cart: CartService) -> None:
    token = cart.guest_cart(("1", 1))
    cart.catalog.state.fail = True
    problem(cart.http.get("/api/cart", headers={"X-Cart-Token": token}), 503, "catalog-unavailable")


def test_concurrent_adds_lose_no_update_and_respect_the_limit(cart: CartService) -> None:
    token = cart.guest_cart(("3", 1))
    before = len(cart.events())

    def add(_: int) -> int:
        return cart.add("1", 1, **{"X-Cart-Token": token}).status_code

    with concurrent.futures.ThreadPoolExecutor(16) as pool:
        codes = list(pool.map(add, range(16)))
    assert sorted(codes) == [200] * 10 + [422] * 6
    items = {i["product_id"]: i["quantity"] for i in
             cart.http.get("/api/cart", headers={"X-Cart-Token": token}).json()["items"]}
    assert items == {"3": 1, "1": 10}
    assert len(cart.events()) - before == 10  # one event per change that happened, no more
