"""Promotions managed by admins and applied by the pricing engine, promo codes, personal offers."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tests.services.cart.conftest import CartService, problem


def test_promotions_are_admin_only_and_validated(cart: CartService) -> None:
    body = {"name": "10 off", "kind": "percent", "percent": "10"}
    problem(cart.http.post("/api/cart/promotions", json=body), 401, "unauthorized")
    problem(cart.http.post("/api/cart/promotions", json=body, headers=cart.auth("ann")), 403, "forbidden")
    problem(cart.http.get("/api/cart/promotions", headers=cart.auth("ann")), 403, "forbidden")
    bad = [
        {"name": "x", "kind": "percent"},
        {"name": "x", "kind": "percent", "percent": "150"},
        {"name": "x", "kind": "percent", "percent": "10.555"},
        {"name": "x", "kind": "fixed"},
        {"name": "x", "kind": "fixed", "amount_minor": -5},
        {"name": "x", "kind": "buy_x_get_y", "buy_quantity": 2},
        {"name": "x", "kind": "percent", "percent": "5", "scope": "category"},
        {"name": "x", "kind": "percent", "percent": "5", "code": "a b"},
        {"name": "x", "kind": "percent", "percent": "5", "starts_at": "2026-02-01T00:00:00Z",
         "ends_at": "2026-01-01T00:00:00Z"},
        {"name": "x", "kind": "percent", "percent": "5", "bogus": 1},
    ]
    for payload in bad:
        problem(cart.http.post("/api/cart/promotions", json=payload, headers=cart.admin()), 422,
                "validation-error")
    assert cart.http.get("/api/cart/promotions", headers=cart.admin()).json()["total"] == 0


def test_promotion_crud_activate_and_code_uniqueness(cart: CartService) -> None:
    promo = cart.promotion(kind="percent", percent="10", code="spring10", campaign_id="spring-26")
    assert promo["code"] == "SPRING10" and promo["campaign_id"] == "spring-26" and promo["active"]
    url = f"/api/cart/promotions/{promo['id']}"
    problem(cart.http.post("/api/cart/promotions", json={"name": "dup", "kind": "percent", "percent": "5",
                                                         "code": "SPRING10"}, headers=cart.admin()),
            409, "code-taken")
    updated = cart.http.patch(url, json={"percent": "12.5", "priority": 3}, headers=cart.admin()).json()
    assert (updated["percent"], updated["priority"], updated["code"]) == ("12.5", 3, "SPRING10")
    problem(cart.http.patch(url, json={"percent": None}, headers=cart.admin()), 422, "validation-error")
    assert cart.http.post(url + "/deactivate", headers=cart.admin()).json()["active"] is False
    assert cart.http.post(url + "/activate", headers=cart.admin()).json()["active"] is True
    assert cart.http.get("/api/cart/promotions", headers=cart.admin()).json()["total"] == 1
    assert cart.http.delete(url, headers=cart.admin()).status_code == 204
    problem(cart.http.get(url, headers=cart.admin()), 404, "not-found")
    problem(cart.http.get("/api/cart/promotions/not-an-id", headers=cart.admin()), 422, "validation-error")
    cart.promotion(kind="percent", percent="5", code="SPRING10")  # the code is free again


def test_automatic_promotions_show_each_line_and_the_money_saved(cart: CartService) -> None:
    kitchen = cart.promotion(name="Kitchen week", kind="percent", percent="20", scope="category",
                             targets=["kitchen"], campaign_id="kitchen-week", priority=1)
    cart.promotion(name="Free delivery over 50", kind="free_delivery", min_subtotal_minor=5000)
    token = cart.guest_cart(("1", 2), ("2", 1), ("3", 1))  # 19.98 + 45.00 kitchen, 15.00 fashion
    body = cart.http.get("/api/cart", headers={"X-Cart-Token": token}).json()
    assert [i["discount_minor"] for i in body["items"]] == [400, 900, 0]
    saved = {p["name"]: p["saved_minor"] for p in body["promotions"]}
    assert saved == {"Kitchen week": 1300, "Free delivery over 50": 499}
    assert body["promotions"][0]["campaign_id"] == "kitchen-week"
    assert body["totals"] == {"subtotal_minor": 7998, "discount_minor": 1300, "shipping_minor": 499,
                              "shipping_discount_minor": 499, "total_minor": 6698, "saved_minor": 1799}
    cart.http.post(f"/api/cart/promotions/{kitchen['id']}/deactivate", headers=cart.admin())
    assert cart.http.get("/api/cart", headers={"X-Cart-Token": token}).json()["totals"]["discount_minor"] == 0


def test_promo_codes_apply_once_with_an_event_and_refuse_bad_cases(cart: CartService) -> None:
    now = datetime.now(UTC)
    cart.promotion(kind="fixed", amount_minor=500, code="FIVE", campaign_id="newsletter",
                   min_subtotal_minor=2000)
    cart.promotion(kind="percent", percent="10", code="OLD", ends_at=(now - timedelta(days=1)).isoformat())
    cart.promotion(kind="percent", percent="10", code="SOON", starts_at=(now + timedelta(days=1)).isoformat())
    cart.promotion(kind="percent", percent="10", code="MEMBERS", per_user_limit=1)
    off = cart.promotion(kind="percent", percent="10", code="PAUSED")
    cart.http.post(f"/api/cart/promotions/{off['id']}/deactivate", headers=cart.admin())
    empty = cart.guest_cart(("1", 1))
    cart.http.delete("/api/cart/items/1", headers={"X-Cart-Token": empty})
    problem(cart.http.post("/api/cart/codes", json={"code": "FIVE"}, headers={"X-Cart-Token": empty}),
            409, "cart-empty")
    h = {"X-Cart-Token": cart.guest_cart(("1", 1))}
    before = len(cart.events())
    problem(cart.http.post("/api/cart/codes", json={"code": "FIVE"}, headers=h), 422,
            "minimum-basket-not-met")
    problem(cart.http.post("/api/cart/codes", json={"code": "NOPE"}, headers=h), 404, "code-unknown")
    problem(cart.http.post("/api/cart/codes", json={"code": "OLD"}, headers=h), 422, "code-expired")
    problem(cart.http.post("/api/cart/codes", json={"code": "SOON"}, headers=h), 422, "code-not-yet-valid")
    problem(cart.http.post("/api/cart/codes", json={"code": "PAUSED"}, headers=h), 422, "code-inactive")
    problem(cart.http.post("/api/cart/codes", json={"code": "MEMBERS"}, headers=h), 401, "sign-in-required")
    problem(cart.http.post("/api/cart/codes", json={"code": "x"}, headers=h), 422, "validation-error")
    assert len(cart.events()) == before
    cart.add("1", 2, **h)
    body = cart.http.post("/api/cart/codes", json={"code": " five "}, headers=h).json()
    assert body["codes"] == ["FIVE"] and body["totals"]["discount_minor"] == 500
    assert body["promotions"][0]["code"] == "FIVE"
    problem(cart.http.post("/api/cart/codes", json={"code": "FIVE"}, headers=h), 409, "code-already-applied")
    [applied] = cart.events("cart.promo_code_applied")
    assert applied["data"]["promo_code"] == "FIVE" and applied["data"]["campaign_id"] == "newsletter"
    assert applied["data"]["discount_minor"] == 500
    # Dropping below the minimum keeps the code on the cart but flags it; checkout would refuse it.
    body = cart.http.put("/api/cart/items/1", json={"quantity": 1}, headers=h).json()
    assert body["rejected_codes"] == [{"code": "FIVE", "reason": "minimum-basket-not-met"}]
    assert cart.http.delete("/api/cart/codes/five", headers=h).json()["codes"] == []
    problem(cart.http.delete("/api/cart/codes/FIVE", headers=h), 404, "code-not-applied")


def test_usage_limits_are_counted_at_checkout_and_given_back_on_release(cart: CartService) -> None:
    cart.promotion(kind="percent", percent="10", code="ONCE", usage_limit=1)
    ann, bob = cart.auth("ann"), cart.auth("bob")
    for who in (ann, bob):
        cart.add("1", 1, **who)
        cart.http.post("/api/cart/codes", json={"code": "ONCE"}, headers=who)
    snap = cart.http.post("/api/cart/checkout", headers=ann).json()
    err = problem(cart.http.post("/api/cart/checkout", headers=bob), 409, "promo-code-not-applicable")
    assert err["codes"] == [{"code": "ONCE", "reason": "code-exhausted"}]
    r = cart.http.post(f"/api/cart/snapshots/{snap['id']}/release", headers=ann)
    assert r.json()["status"] == "released"
    assert cart.http.post("/api/cart/checkout", headers=bob).status_code == 201


def test_personal_offers_reach_only_their_shopper(cart: CartService) -> None:
    offer = cart.promotion(name="Thanks for coming back", kind="percent", percent="15", user_id="ann",
                           campaign_id="loyalty")
    cart.add("3", 2, **cart.auth("ann"))
    cart.add("3", 2, **cart.auth("bob"))
    assert cart.http.get("/api/cart", headers=cart.auth("ann")).json()["totals"]["discount_minor"] == 450
    assert cart.http.get("/api/cart", headers=cart.auth("bob")).json()["totals"]["discount_minor"] == 0
    mine = cart.http.get("/api/cart/offers", headers=cart.auth("ann")).json()
    assert [o["id"] for o in mine["items"]] == [offer["id"]]
    assert cart.http.get("/api/cart/offers", headers=cart.auth("bob")).json()["total"] == 0


def test_exclusive_promotions_do_not_stack(cart: CartService) -> None:
    cart.promotion(name="5%", kind="percent", percent="5")
    cart.promotion(name="3 off", kind="fixed", amount_minor=300)
    cart.promotion(name="VIP 25%", kind="percent", percent="25", exclusive=True, code="VIP")
    h = {"X-Cart-Token": cart.guest_cart(("2", 1))}
    assert {p["name"] for p in cart.http.get("/api/cart", headers=h).json()["promotions"]} == {"5%", "3 off"}
    body = cart.http.post("/api/cart/codes", json={"code": "VIP"}, headers=h).json()
    assert [p["name"] for p in body["promotions"]] == ["VIP 25%"] and body["totals"]["discount_minor"] == 1125
