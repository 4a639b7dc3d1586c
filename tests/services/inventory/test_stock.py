"""Stock levels, admin adjustments (audit trail), low-stock and back-in-stock events over HTTP."""

from __future__ import annotations

from tests.services.inventory.conftest import ADMIN, InventoryService


def problem(r, status: int, slug: str) -> dict:  # type: ignore[no-untyped-def]
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"].endswith("/" + slug), body
    return body


def test_first_adjustment_creates_the_sku_and_every_change_is_audited(inventory: InventoryService) -> None:
    r = inventory.adjust("MUG-1", 20, reason="initial count", low_stock_threshold=3)
    assert r.status_code == 201, r.text
    assert r.json()["on_hand_after"] == 20 and r.json()["actor"] == ADMIN
    assert inventory.adjust("MUG-1", -5, reason="damaged in storage").json()["on_hand_after"] == 15
    assert inventory.adjust("MUG-1", 4, reason="second shipment", warehouse="north").status_code == 201
    stock = inventory.stock("MUG-1")
    assert (stock["on_hand"], stock["reserved"], stock["available"], stock["in_stock"]) == (19, 0, 19, True)
    assert stock["low_stock_threshold"] == 3
    assert {w["warehouse"]: w["on_hand"] for w in stock["warehouses"]} == {"main": 15, "north": 4}
    trail = inventory.http.get("/api/inventory/stock/MUG-1/adjustments",
                               headers=inventory.auth(ADMIN, admin=True)).json()
    assert trail["total"] == 3
    assert {(a["delta"], a["reason"]) for a in trail["items"]} == {
        (20, "initial count"), (-5, "damaged in storage"), (4, "second shipment")}
    changed = inventory.events("inventory.stock_changed")
    assert [e["data"]["available"] for e in changed] == [20, 15, 19]
    assert changed[-1]["data"]["cause"] == "adjustment" and changed[-1]["subject"] == "MUG-1"


def test_batch_availability_leaves_unknown_skus_out(inventory: InventoryService) -> None:
    inventory.adjust("A-1", 2)
    inventory.adjust("B-1", 3)
    r = inventory.http.get("/api/inventory/stock", params=[("sku", "B-1"), ("sku", "A-1"), ("sku", "Z-9")])
    assert [(s["sku"], s["available"]) for s in r.json()["items"]] == [("A-1", 2), ("B-1", 3)]


def test_adjustments_need_an_admin_and_refuse_bad_input(inventory: InventoryService) -> None:
    body = {"delta": 5, "reason": "restock"}
    problem(inventory.http.post("/api/inventory/stock/X-1/adjustments", json=body), 401, "unauthorized")
    problem(inventory.http.post("/api/inventory/stock/X-1/adjustments", json=body,
                                headers=inventory.auth("shopper-1")), 403, "forbidden")
    problem(inventory.adjust("X-1", 0), 422, "validation-error")
    problem(inventory.adjust("X-1", -1), 404, "unknown-sku")
    problem(inventory.adjust("X-1", 10**9), 422, "validation-error")
    problem(inventory.adjust("X-1", 5, reason=""), 422, "validation-error")
    problem(inventory.adjust("bad sku!", 5), 422, "validation-error")
    problem(inventory.adjust("X-1", 5, warehouse="North Pole"), 422, "validation-error")
    assert inventory.events() == []
    inventory.adjust("X-1", 5)
    problem(inventory.adjust("X-1", -6, reason="shrinkage"), 409, "insufficient-stock")
    assert inventory.stock("X-1")["on_hand"] == 5 and len(inventory.events()) == 1


def test_an_adjustment_cannot_remove_reserved_stock(inventory: InventoryService) -> None:
    inventory.adjust("R-1", 5)
    assert inventory.reserve("o-1", [("R-1", 4)]).status_code == 201
    problem(inventory.adjust("R-1", -2, reason="shrinkage"), 409, "insufficient-stock")
    assert inventory.adjust("R-1", -1, reason="shrinkage").status_code == 201
    assert inventory.stock("R-1")["available"] == 0


def test_idempotency_key_replays_an_adjustment(inventory: InventoryService) -> None:
    headers = {**inventory.auth(ADMIN, admin=True), "Idempotency-Key": "delivery-42"}
    url = "/api/inventory/stock/K-1/adjustments"
    first = inventory.http.post(url, json={"delta": 7, "reason": "delivery"}, headers=headers)
    again = inventory.http.post(url, json={"delta": 7, "reason": "delivery"}, headers=headers)
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"] and inventory.stock("K-1")["on_hand"] == 7
    other = inventory.http.post(url, json={"delta": 8, "reason": "delivery"}, headers=headers)
    problem(other, 409, "idempotency-key-reused")


def test_low_stock_is_announced_once_on_the_crossing(inventory: InventoryService) -> None:
    inventory.adjust("L-1", 10, low_stock_threshold=3)
    inventory.adjust("L-1", -6, reason="sold offline")  # 4: above
    assert inventory.events("inventory.low_stock") == []
    inventory.reserve("o-1", [("L-1", 1)])  # 3: crossing
    inventory.reserve("o-2", [("L-1", 1)])  # 2: still low, no second event
    low = inventory.events("inventory.low_stock")
    assert [(e["data"]["available"], e["data"]["threshold"]) for e in low] == [(3, 3)]
    r = inventory.http.patch("/api/inventory/stock/L-1", json={"low_stock_threshold": 0},
                             headers=inventory.auth(ADMIN, admin=True))
    assert r.json()["low_stock_threshold"] == 0


def test_back_in_stock_tells_each_subscriber_once(inventory: InventoryService) -> None:
    inventory.adjust("B-1", 1)
    sub = {"sku": "B-1", "product_id": "42"}
    problem(inventory.http.post("/api/inventory/subscriptions", json=sub,
                                headers=inventory.auth("ann")), 409, "in-stock")
    inventory.reserve("o-1", [("B-1", 1)], user="zed")
    for user in ("ann", "bob"):
        r = inventory.http.post("/api/inventory/subscriptions", json=sub, headers=inventory.auth(user))
        assert r.status_code == 201, r.text
    again = inventory.http.post("/api/inventory/subscriptions", json=sub, headers=inventory.auth("ann"))
    assert again.status_code == 200
    problem(inventory.http.post("/api/inventory/subscriptions", json={"sku": "NOPE"},
                                headers=inventory.auth("ann")), 404, "unknown-sku")
    mine = inventory.http.get("/api/inventory/subscriptions", headers=inventory.auth("bob")).json()
    assert [(s["sku"], s["notified_at"]) for s in mine["items"]] == [("B-1", None)]

    inventory.adjust("B-1", 3, reason="restock")  # 0 -> 3: one event per subscriber
    inventory.adjust("B-1", 2, reason="restock")  # 3 -> 5: nobody left to tell
    back = inventory.events("inventory.back_in_stock")
    assert sorted(e["data"]["user_id"] for e in back) == ["ann", "bob"]
    assert {(e["data"]["product_id"], e["data"]["available"]) for e in back} == {("42", 3)}
    mine = inventory.http.get("/api/inventory/subscriptions", headers=inventory.auth("bob")).json()
    assert mine["items"][0]["notified_at"] is not None


def test_a_released_reservation_also_brings_stock_back(inventory: InventoryService) -> None:
    inventory.adjust("C-1", 1)
    inventory.reserve("o-1", [("C-1", 1)])
    inventory.http.post("/api/inventory/subscriptions", json={"sku": "C-1"}, headers=inventory.auth("ann"))
    r = inventory.http.delete("/api/inventory/subscriptions/C-1", headers=inventory.auth("ann"))
    assert r.status_code == 204
    inventory.http.post("/api/inventory/subscriptions", json={"sku": "C-1"}, headers=inventory.auth("bob"))
    inventory.http.post("/api/inventory/reservations/o-1/release", headers=inventory.auth())
    assert [e["data"]["user_id"] for e in inventory.events("inventory.back_in_stock")] == ["bob"]
