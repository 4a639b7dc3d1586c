"""Fault drill: the orders process is SIGKILLed in the middle of several sagas and restarted;
every order must end completed or compensated, with stock and money consistent."""

from __future__ import annotations

import concurrent.futures
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from sqlalchemy import select

from services.orders.app import database
from services.orders.settings import OrdersSettings
from services.orders.store import Order, Saga
from tests.services.orders.conftest import SERVICE_EMAIL, SERVICE_PASSWORD, Neighbours, orders_settings
from tests.support.servers import free_port


@contextmanager
def orders_process(settings: OrdersSettings, port: int, log: Path, **env: str) -> Iterator[subprocess.Popen]:
    """The orders service as a real process (uvicorn), configured only through the environment."""
    environ = {**os.environ, "SHOP_ENV": "test", "SHOP_DATA_DIR": str(settings.data_dir),
               "JWKS_URL": settings.jwks_url, "ORDERS_DATABASE_URL": settings.database_url or "",
               "ORDERS_SERVICE_EMAIL": SERVICE_EMAIL, "ORDERS_SERVICE_PASSWORD": SERVICE_PASSWORD,
               "ORDERS_SAGA_LEASE_S": "1", "ORDERS_SAGA_POLL_S": "0.1", "ORDERS_SAGA_RETRY_BASE_S": "0.05",
               **{f"ORDERS_{s.upper()}_URL": settings.url(s)
                  for s in ("users", "cart", "inventory", "payments", "delivery")}, **env}
    with log.open("ab") as out:
        proc = subprocess.Popen([sys.executable, "-m", "uvicorn", "services.orders.app:create_app",
                                 "--factory", "--port", str(port), "--log-level", "warning"],
                                env=environ, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert proc.poll() is None and time.monotonic() < deadline, log.read_text()[-2000:]
            time.sleep(0.1)
        yield proc
    finally:
        if proc.poll() is None:
            proc.terminate()
            proc.wait(timeout=15)


def sagas(settings: OrdersSettings) -> dict[str, tuple[str, str, str]]:
    """order id -> (saga state, saga step, order status), read straight from the database."""
    db = database(settings)
    try:
        with db.read() as session:
            rows = session.execute(select(Saga.order_id, Saga.state, Saga.step, Order.status)
                                   .join(Order, Order.id == Saga.order_id)).all()
        return {r[0]: (r[1], r[2], r[3]) for r in rows}
    finally:
        db.dispose()


def test_killed_mid_saga_every_order_completes_or_compensates(
        neighbours: Neighbours, database_url: str, service_account: str, tmp_path: Path) -> None:
    n = neighbours
    settings = orders_settings(n, database_url)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    products = [n.product(1_000 + 100 * i, stock=4) for i in range(3)]
    plans = [(f"shopper-{i}", products[i % 3], 1 + i % 2, "declined" if i % 3 == 2 else "ok")
             for i in range(6)]
    bodies = [(user, n.order_body(user, [(pid, qty)], card=card), f"key-{user}")
              for user, pid, qty, card in plans]

    def place(item: tuple[str, dict[str, Any], str]) -> int:
        user, body, key = item
        try:
            return httpx.post(f"{base}/api/orders", json=body, timeout=30,
                              headers={**n.issuer.auth(user), "Idempotency-Key": key}).status_code
        except httpx.HTTPError:
            return 0  # the process died under the request

    log = tmp_path / "orders.log"
    with orders_process(settings, port, log, ORDERS_SAGA_STEP_DELAY_S="0.3") as proc, \
            concurrent.futures.ThreadPoolExecutor(6) as pool:
        futures = [pool.submit(place, item) for item in bodies]
        deadline = time.monotonic() + 20
        while True:  # kill once some sagas are past the payment and none has finished
            states = sagas(settings)
            if sum(1 for _, step, _ in states.values() if step in ("confirm", "commit", "ship")) >= 2:
                break
            assert time.monotonic() < deadline, (states, log.read_text()[-2000:])
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        interrupted = sagas(settings)
        codes = [f.result() for f in futures]
    assert any(state in ("running", "compensating") for state, _, _ in interrupted.values()), interrupted
    assert 0 in codes  # some shoppers really lost their answer

    with orders_process(settings, port, log):
        # Shoppers who lost their answer retry with the same key: same order, no second charge.
        retried = [place(item) for item in bodies]
        assert all(code in (200, 201) for code in retried), retried
        deadline = time.monotonic() + 30
        while any(state not in ("completed", "compensated") for state, _, _ in sagas(settings).values()):
            assert time.monotonic() < deadline, sagas(settings)
            time.sleep(0.1)
    final = sagas(settings)
    assert len(final) == 6
    by_user = {}
    db = database(settings)
    with db.read() as session:
        for order in session.scalars(select(Order)):
            by_user[order.user_id] = order
    db.dispose()
    sold: dict[str, int] = {}
    for user, pid, qty, card in plans:
        order = by_user[user]
        state, _, status = final[order.id]
        payments = n.payments_of(order.id)
        if card == "ok":
            assert (state, status) == ("completed", "fulfilling"), (user, final[order.id])
            assert [p["captured_minor"] for p in payments] == [order.total_minor]
            sold[pid] = sold.get(pid, 0) + qty
        else:
            assert (state, status) == ("compensated", "payment_failed"), (user, final[order.id])
            assert all(p["captured_minor"] == 0 for p in payments)
    for pid in products:
        stock = n.stock(pid)
        assert stock["reserved"] == 0 and stock["on_hand"] == 4 - sold.get(pid, 0), (pid, stock)
    assert n.ledger_balanced()
