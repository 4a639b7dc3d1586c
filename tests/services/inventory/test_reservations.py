"""Reservations over HTTP: all-or-nothing, idempotent by order id, commit/release/expiry, and
never oversold under 100 concurrent requests (SQLite and PostgreSQL)."""

from __future__ import annotations

import concurrent.futures
import threading
from datetime import UTC, datetime, timedelta

import httpx

from services.inventory.settings import InventorySettings
from services.inventory.sweeper import run as run_sweeper
from tests.services.inventory.conftest import ADMIN, InventoryService
from tests.services.inventory.test_stock import problem


def test_reserve_commit_and_replays(inventory: InventoryService) -> None:
    inventory.adjust("A-1", 10)
    inventory.adjust("B-1", 5)
    r = inventory.reserve("order-1", [("B-1", 2), ("A-1", 3), ("A-1", 1)])
    assert r.status_code == 201, r.text
    body = r.json()
    assert body["status"] == "reserved" and body["user_id"] == "shopper-1"
    assert [(x["sku"], x["quantity"]) for x in body["lines"]] == [("A-1", 4), ("B-1", 2)]
    assert (inventory.stock("A-1")["available"], inventory.stock("A-1")["reserved"]) == (6, 4)
    replay = inventory.reserve("order-1", [("A-1", 4), ("B-1", 2)])
    assert replay.status_code == 200 and replay.json()["lines"] == body["lines"]
    problem(inventory.reserve("order-1", [("A-1", 5)]), 409, "order-id-reused")

    url = "/api/inventory/reservations/order-1/commit"
    assert inventory.http.post(url, headers=inventory.auth()).json()["status"] == "committed"
    assert inventory.http.post(url, headers=inventory.auth()).status_code == 200  # idempotent
    a = inventory.stock("A-1")
    assert (a["on_hand"], a["reserved"], a["available"]) == (6, 0, 6)
    problem(inventory.http.post("/api/inventory/reservations/order-1/release", headers=inventory.auth()),
            409, "reservation-committed")
    types = [e["type"] for e in inventory.events() if e["type"].startswith("inventory.re") or
             e["type"] == "inventory.committed"]
    assert types == ["inventory.reserved", "inventory.committed"]


def test_release_gives_stock_back_once(inventory: InventoryService) -> None:
    inventory.adjust("A-1", 3)
    inventory.reserve("order-2", [("A-1", 3)])
    assert inventory.stock("A-1")["in_stock"] is False
    url = "/api/inventory/reservations/order-2/release"
    r = inventory.http.post(url, json={"reason": "payment declined"}, headers=inventory.auth())
    assert r.json()["status"] == "released"
    assert inventory.http.post(url, headers=inventory.auth()).status_code == 200
    assert inventory.stock("A-1")["available"] == 3
    released = inventory.events("inventory.released")
    assert len(released) == 1 and released[0]["data"]["reason"] == "payment declined"
    problem(inventory.http.post("/api/inventory/reservations/order-2/commit", headers=inventory.auth()),
            409, "reservation-released")


def test_all_or_nothing_and_nothing_half_written(inventory: InventoryService) -> None:
    inventory.adjust("A-1", 10)
    inventory.adjust("B-1", 1)
    before = len(inventory.events())
    body = problem(inventory.reserve("order-3", [("A-1", 5), ("B-1", 2)]), 409, "insufficient-stock")
    assert body["shortages"] == [{"sku": "B-1", "requested": 2, "available": 1}]
    assert inventory.stock("A-1")["reserved"] == 0 and inventory.stock("B-1")["reserved"] == 0
    failed = inventory.events()[before:]
    assert [e["type"] for e in failed] == ["inventory.reservation_failed"]
    problem(inventory.http.get("/api/inventory/reservations/order-3", headers=inventory.auth()),
            404, "not-found")
    assert inventory.reserve("order-3", [("A-1", 5), ("B-1", 1)]).status_code == 201  # retry may win


def test_bad_reservation_input_is_a_clear_4xx(inventory: InventoryService) -> None:
    inventory.adjust("A-1", 10)
    cases = [
        ({"order_id": "o-1", "lines": [{"sku": "A-1", "quantity": 0}]}, 422, "validation-error"),
        ({"order_id": "o-1", "lines": [{"sku": "A-1", "quantity": -3}]}, 422, "validation-error"),
        ({"order_id": "o-1", "lines": [{"sku": "A-1", "quantity": 10**12}]}, 422, "validation-error"),
        ({"order_id": "o-1", "lines": [{"sku": "A-1", "quantity": 6000}] * 2}, 422, "quantity-too-large"),
        ({"order_id": "o-1", "lines": [{"sku": "A-1", "quantity": "x"}]}, 422, "validation-error"),
        ({"order_id": "o-1", "lines": []}, 422, "validation-error"),
        ({"order_id": "../etc", "lines": [{"sku": "A-1", "quantity": 1}]}, 422, "validation-error"),
        ({"order_id": "o-1", "lines": [{"sku": "NOPE-1", "quantity": 1}]}, 422, "unknown-sku"),
        ({"order_id": "o-1", "lines": [{"sku": "A-1", "quantity": 1}], "ttl_seconds": 10**7}, 422,
         "validation-error"),
        ({"order_id": "o-1", "lines": [{"sku": "A-1", "quantity": 11}]}, 409, "insufficient-stock"),
    ]
    for body, status, slug in cases:
        problem(inventory.http.post("/api/inventory/reservations", json=body, headers=inventory.auth()),
                status, slug)
    problem(inventory.http.post("/api/inventory/reservations", content=b"{", headers={
        **inventory.auth(), "content-type": "application/json"}), 400, "malformed-json")
    problem(inventory.http.post("/api/inventory/reservations", json=cases[0][0]), 401, "unauthorized")
    problem(inventory.http.post("/api/inventory/reservations/bad%20id/commit", headers=inventory.auth()),
            422, "validation-error")
    assert inventory.stock("A-1")["reserved"] == 0
    assert {e["type"] for e in inventory.events()} <= {"inventory.stock_changed",
                                                       "inventory.reservation_failed"}


def test_only_the_owner_or_an_admin_sees_and_moves_a_reservation(inventory: InventoryService) -> None:
    inventory.adjust("A-1", 2)
    inventory.reserve("order-4", [("A-1", 1)], user="ann")
    url = "/api/inventory/reservations/order-4"
    problem(inventory.http.get(url, headers=inventory.auth("bob")), 404, "not-found")
    problem(inventory.http.post(url + "/commit", headers=inventory.auth("bob")), 404, "not-found")
    assert inventory.http.get(url, headers=inventory.auth("ann")).status_code == 200
    r = inventory.http.post(url + "/release", headers=inventory.auth(ADMIN, admin=True))
    assert r.json()["status"] == "released"


def test_expired_reservations_are_swept_once(inventory: InventoryService) -> None:
    inventory.adjust("A-1", 5)
    inventory.reserve("order-5", [("A-1", 2)], ttl_seconds=60)
    inventory.reserve("order-6", [("A-1", 1)], ttl_seconds=3600)
    service = inventory.app.state.inventory
    assert service.sweep_expired() == 0
    later = datetime.now(UTC) + timedelta(seconds=61)
    assert service.sweep_expired(later) == 1
    assert service.sweep_expired(later) == 0
    assert inventory.stock("A-1")["available"] == 4
    expired = inventory.events("inventory.reservation_expired")
    assert [e["data"]["order_id"] for e in expired] == ["order-5"]
    problem(inventory.http.post("/api/inventory/reservations/order-5/commit", headers=inventory.auth()),
            409, "reservation-expired")
    assert inventory.http.post("/api/inventory/reservations/order-6/commit",
                               headers=inventory.auth()).status_code == 200


def test_the_sweeper_process_loop_expires_reservations(inventory: InventoryService) -> None:
    inventory.adjust("A-1", 1)
    inventory.reserve("order-7", [("A-1", 1)], ttl_seconds=1)
    settings: InventorySettings = inventory.app.state.settings
    stop = threading.Event()
    worker = threading.Thread(target=run_sweeper, args=(settings.model_copy(update={
        "sweep_interval_s": 0.2}), stop), daemon=True)
    worker.start()
    try:
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while inventory.stock("A-1")["available"] == 0 and datetime.now(UTC) < deadline:
            stop.wait(0.1)
    finally:
        stop.set()
        worker.join(10)
    assert inventory.stock("A-1")["available"] == 1
    assert len(inventory.events("inventory.reservation_expired")) == 1


def _concurrently(n: int, call) -> list[int]:  # type: ignore[no-untyped-def]
    start = threading.Barrier(n)

    def one(i: int) -> int:
        start.wait()
        return call(i).status_code

    with concurrent.futures.ThreadPoolExecutor(n) as pool:
        return list(pool.map(one, range(n)))


def test_100_concurrent_reservations_for_10_units_exactly_10_succeed(inventory: InventoryService) -> None:
    inventory.adjust("HOT-1", 10)
    token = inventory.auth()
    limits = httpx.Limits(max_connections=100, max_keepalive_connections=100)
    with httpx.Client(base_url=inventory.base_url, timeout=120, limits=limits) as http:
        codes = _concurrently(100, lambda i: http.post("/api/inventory/reservations", headers=token, json={
            "order_id": f"race-{i}", "lines": [{"sku": "HOT-1", "quantity": 1}]}))
    assert sorted(codes) == [201] * 10 + [409] * 90
    stock = inventory.stock("HOT-1")
    assert (stock["on_hand"], stock["reserved"], stock["available"]) == (10, 10, 0)
    assert len(inventory.events("inventory.reserved")) == 10
    assert len(inventory.events("inventory.reservation_failed")) == 90


def test_concurrent_retries_of_one_order_reserve_once(inventory: InventoryService) -> None:
    inventory.adjust("A-1", 50)
    inventory.adjust("B-1", 50)
    token = inventory.auth()
    with httpx.Client(base_url=inventory.base_url, timeout=120) as http:
        codes = _concurrently(12, lambda i: http.post("/api/inventory/reservations", headers=token, json={
            "order_id": "same", "lines": [{"sku": "A-1", "quantity": 3}, {"sku": "B-1", "quantity": 2}]}))
        # Opposite line orders must not deadlock (lines are locked in SKU order).
        crossed = _concurrently(12, lambda i: http.post("/api/inventory/reservations", headers=token, json={
            "order_id": f"x-{i}", "lines": [{"sku": s, "quantity": 1} for s in
                                            (("A-1", "B-1") if i % 2 else ("B-1", "A-1"))]}))
    assert sorted(codes) == [200] * 11 + [201]
    assert crossed == [201] * 12
    assert inventory.stock("A-1")["reserved"] == 3 + 12 and inventory.stock("B-1")["reserved"] == 2 + 12
