"""Login merge, the checkout hand-off (snapshot, accept, release, idempotency) and the sweeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.services.cart.conftest import CartService, problem


def test_merge_adds_quantities_capped_by_limit_and_stock(cart: CartService) -> None:
    ann = cart.auth("ann")
    cart.add("1", 8, **ann)
    cart.add("2", 4, **ann)
    token = cart.guest_cart(("1", 5), ("2", 1), ("3", 2))
    cart.http.post("/api/cart/items/3/save", headers={"X-Cart-Token": token})
    cart.set_stock("KNF-1", -1)  # 4 knives left
    r = cart.http.post("/api/cart/merge", headers={**ann, "X-Cart-Token": token})
    assert r.status_code == 200, r.text
    body = r.json()
    assert {i["product_id"]: i["quantity"] for i in body["items"]} == {"1": 10, "2": 4}
    assert [s["product_id"] for s in body["saved"]] == ["3"]
    assert {(a["product_id"], a["requested"], a["kept"], a["reason"]) for a in body["adjustments"]} == {
        ("1", 13, 10, "per-item-limit"), ("2", 5, 4, "stock")}
    assert cart.http.get("/api/cart", headers={"X-Cart-Token": token}).json()["items"] == []
    again = cart.http.post("/api/cart/merge", headers={**ann, "X-Cart-Token": token}).json()
    assert {i["product_id"]: i["quantity"] for i in again["items"]} == {"1": 10, "2": 4}
    problem(cart.http.post("/api/cart/merge", headers={"X-Cart-Token": token}), 401, "unauthorized")
    problem(cart.http.post("/api/cart/merge", headers=ann), 422, "cart-token-required")


def test_a_first_login_adopts_the_guest_cart(cart: CartService) -> None:
    token = cart.guest_cart(("3", 2))
    body = cart.http.post("/api/cart/merge", headers={**cart.auth("new"), "X-Cart-Token": token}).json()
    assert body["user_id"] == "new"
    assert [(i["product_id"], i["quantity"]) for i in body["items"]] == [("3", 2)]


def test_checkout_snapshot_is_immutable_idempotent_and_keeps_the_cart(cart: CartService) -> None:
    cart.promotion(kind="percent", percent="10", code="TEN", campaign_id="c-ten")
    ann = {**cart.auth("ann"), "X-Session-Id": "sess-9"}
    problem(cart.http.post("/api/cart/checkout", headers=ann), 409, "cart-empty")
    cart.add("1", 2, **ann)
    cart.add("3", 1, **ann)
    cart.http.post("/api/cart/codes", json={"code": "TEN"}, headers=ann)
    problem(cart.http.post("/api/cart/checkout", headers={"X-Cart-Token": "t" * 43}), 401, "unauthorized")
    first = cart.http.post("/api/cart/checkout", headers={**ann, "Idempotency-Key": "k-1"})
    assert first.status_code == 201, first.text
    snap = first.json()
    assert (snap["status"], snap["user_id"], snap["session_id"]) == ("pending", "ann", "sess-9")
    assert snap["subtotal_minor"] == 3498 and snap["discount_minor"] == 350
    assert snap["total_minor"] == 3498 - 350 + 499
    assert [(x["sku"], x["quantity"], x["unit_price_minor"], x["discount_minor"]) for x in snap["lines"]] == [
        ("MUG-1", 2, 999, 200), ("TEE-1", 1, 1500, 150)]
    assert snap["lines"][0]["category"] == "home"
    assert snap["promo_codes"] == ["TEN"] and snap["campaign_ids"] == ["c-ten"]
    replay = cart.http.post("/api/cart/checkout", headers={**ann, "Idempotency-Key": "k-1"})
    assert replay.status_code == 200 and replay.json()["id"] == snap["id"]
    cart.add("2", 1, **ann)  # the cart moves on; the snapshot does not
    cart.set_price("1", 1)
    assert cart.http.get(f"/api/cart/snapshots/{snap['id']}", headers=ann).json() == snap
    problem(cart.http.get(f"/api/cart/snapshots/{snap['id']}", headers=cart.auth("bob")), 404, "not-found")
    assert cart.http.get(f"/api/cart/snapshots/{snap['id']}", headers=cart.admin()).status_code == 200
    assert len(cart.http.get("/api/cart", headers=ann).json()["items"]) == 3
    assert cart.events("cart.checked_out") == []


def test_accepting_clears_the_bought_lines_once(cart: CartService) -> None:
    ann = cart.auth("ann")
    cart.add("1", 2, **ann)
    snap = cart.http.post("/api/cart/checkout", headers=ann).json()
    cart.add("1", 1, **ann)  # added after the checkout: stays
    cart.add("3", 1, **ann)
    url = f"/api/cart/snapshots/{snap['id']}"
    problem(cart.http.post(url + "/accept", json={"order_id": "o-1"}, headers=cart.auth("bob")),
            404, "not-found")
    problem(cart.http.post(url + "/accept", json={"order_id": "bad id!"}, headers=ann), 422,
            "validation-error")
    done = cart.http.post(url + "/accept", json={"order_id": "o-1"}, headers=ann)
    assert done.status_code == 200
    assert (done.json()["status"], done.json()["order_id"]) == ("accepted", "o-1")
    assert cart.http.post(url + "/accept", json={"order_id": "o-1"}, headers=ann).status_code == 200
    problem(cart.http.post(url + "/accept", json={"order_id": "o-2"}, headers=ann), 409, "snapshot-accepted")
    problem(cart.http.post(url + "/release", headers=ann), 409, "snapshot-accepted")
    left = {i["product_id"]: i["quantity"] for i in cart.http.get("/api/cart", headers=ann).json()["items"]}
    assert left == {"1": 1, "3": 1}
    [event] = cart.events("cart.checked_out")
    assert event["data"] == {"cart_id": snap["cart_id"], "session_id": None, "user_id": "ann",
                             "order_id": "o-1", "item_count": 2, "subtotal_minor": 1998, "currency": "EUR"}
    problem(cart.http.post("/api/cart/snapshots/00000000-0000-0000-0000-000000000000/accept",
                           json={"order_id": "o-3"}, headers=ann), 404, "not-found")


def test_a_released_snapshot_leaves_the_cart_and_cannot_be_accepted(cart: CartService) -> None:
    ann = cart.auth("ann")
    cart.add("3", 2, **ann)
    snap = cart.http.post("/api/cart/checkout", headers=ann).json()
    url = f"/api/cart/snapshots/{snap['id']}"
    assert cart.http.post(url + "/release", headers=ann).json()["status"] == "released"
    assert cart.http.post(url + "/release", headers=ann).status_code == 200
    problem(cart.http.post(url + "/accept", json={"order_id": "o-1"}, headers=ann), 409, "snapshot-released")
    assert cart.http.get("/api/cart", headers=ann).json()["items"][0]["quantity"] == 2


def test_checkout_refuses_a_cart_beyond_stock_and_a_flagged_code(cart: CartService) -> None:
    ann = cart.auth("ann")
    cart.add("2", 5, **ann)
    cart.set_stock("KNF-1", -2)
    err = problem(cart.http.post("/api/cart/checkout", headers=ann), 409, "insufficient-stock")
    assert err["shortages"] == [{"product_id": "2", "requested": 5, "available": 3}]


def test_sweeps_announce_abandoned_carts_once_and_expire_snapshots(make_cart) -> None:  # type: ignore[no-untyped-def]
    cart: CartService = make_cart(abandon_after_s=600, snapshot_ttl_s=60)
    cart.promotion(kind="percent", percent="10", code="ONE", usage_limit=1)
    token = cart.guest_cart(("1", 2))
    cart.http.post("/api/cart/codes", json={"code": "ONE"}, headers={"X-Cart-Token": token})
    ann = cart.auth("ann")
    cart.add("3", 1, **ann)
    cart.http.post("/api/cart/codes", json={"code": "ONE"}, headers=ann)
    snap = cart.http.post("/api/cart/checkout", headers=ann).json()
    carts = cart.carts
    assert carts.sweep() == {"abandoned": 0, "snapshots_expired": 0}
    later = datetime.now(UTC) + timedelta(minutes=11)
    carts.clock = lambda: later
    assert carts.sweep() == {"abandoned": 2, "snapshots_expired": 1}
    assert carts.sweep() == {"abandoned": 0, "snapshots_expired": 0}
    abandoned = cart.events("cart.abandoned")
    assert {(e["data"]["user_id"], e["data"]["subtotal_minor"]) for e in abandoned} == {
        ("ann", 1500), (None, 1998)}
    url = f"/api/cart/snapshots/{snap['id']}"
    assert cart.http.get(url, headers=ann).json()["status"] == "expired"
    # The expired checkout gave its use of ONE back: the guest's cart may use it now.
    assert cart.http.get("/api/cart", headers={"X-Cart-Token": token}).json()["rejected_codes"] == []
    cart.add("1", 1, **{"X-Cart-Token": token})  # active again: a new idle spell, a new event
    carts.clock = lambda: later + timedelta(minutes=11)
    assert carts.sweep()["abandoned"] == 1
