"""Live push through the real gateway: `/ws` authenticated with the access token, every open tab
of the user gets the message within a second of the event, whichever gateway process holds it."""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from datetime import timedelta
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from services.gateway.app import create_app as create_gateway
from services.gateway.settings import GatewaySettings
from services.orders.events import OrderPaid
from services.users.events import UserRegistered
from tests.services.notifications.conftest import Notifications, Signer
from tests.support.servers import serve


@pytest.fixture
def gateways(notifications: Notifications, signer: tuple[Signer, str], redis_url: str,
             tmp_path: Any) -> Iterator[Callable[[], str]]:
    """`start()` -> base URL of one more gateway process in front of the notifications service."""
    jwks_base = signer[1].removesuffix("/.well-known/jwks.json")
    upstreams = {"users": jwks_base, "notifications": str(notifications.http.base_url).rstrip("/")}
    with ExitStack() as stack:

        def start() -> str:
            settings = GatewaySettings(redis_url=redis_url, data_dir=tmp_path, upstreams=upstreams)
            return stack.enter_context(serve(create_gateway(settings)))

        yield start


def ws_url(base: str) -> str:
    return base.replace("http://", "ws://") + "/ws"


def open_socket(base: str, token: str, *, as_protocol: bool = False) -> ClientConnection:
    if as_protocol:
        sock = connect(ws_url(base), subprotocols=["bearer", token], open_timeout=5)  # type: ignore[list-item]
        assert sock.subprotocol == "bearer"
    else:
        sock = connect(f"{ws_url(base)}?token={token}", open_timeout=5)
    hello = json.loads(sock.recv(timeout=5))
    assert hello["type"] == "ready"
    return sock


def test_every_tab_on_every_gateway_gets_the_push_within_a_second(
        notifications: Notifications, gateways: Callable[[], str]) -> None:
    n = notifications
    first, second = gateways(), gateways()
    n.publish(UserRegistered(user_id="w1", email="w1@example.com"), source="users")
    token = n.signer.token("w1")
    tabs = [open_socket(first, token), open_socket(first, token, as_protocol=True),
            open_socket(second, token)]
    other = open_socket(second, n.signer.token("w2"))
    try:
        started = time.monotonic()
        n.publish(OrderPaid(order_id="O-1", user_id="w1", payment_id="p", amount_minor=700,
                            currency="EUR"), source="orders")
        messages = [json.loads(tab.recv(timeout=5)) for tab in tabs]
        elapsed = time.monotonic() - started
        assert elapsed < 1.0, f"push took {elapsed:.3f}s"
        for message in messages:
            assert message["type"] == "notification" and message["template"] == "order_paid"
            assert message["title"] == "Payment received for order O-1"
            assert message["link"] == "https://shop.test/orders/O-1"
        assert len({m["id"] for m in messages}) == 1
        with pytest.raises(TimeoutError):
            other.recv(timeout=0.3)
        # The pushed id is the notification centre's, readable through the gateway.
        with httpx.Client(base_url=first, headers={"Authorization": f"Bearer {token}"}) as http:
            centre = http.get("/api/notifications").json()
            assert centre["items"][0]["id"] == messages[0]["id"] and centre["unread"] == 1
            assert http.post(f"/api/notifications/{messages[0]['id']}/read").status_code == 204
            assert http.get("/api/notifications/preferences").json()["push"] is True
        assert httpx.get(f"{first}/api/notifications").status_code == 401
        # A closed tab is forgotten; the remaining ones still get messages.
        tabs[0].close()
        n.publish(OrderPaid(order_id="O-2", user_id="w1", payment_id="p", amount_minor=1,
                            currency="EUR"), source="orders")
        for tab in tabs[1:]:
            assert json.loads(tab.recv(timeout=5))["title"] == "Payment received for order O-2"
    finally:
        for sock in [*tabs, other]:
            sock.close()


def test_sockets_without_a_valid_token_are_closed(
        notifications: Notifications, gateways: Callable[[], str]) -> None:
    base = gateways()
    for url in (ws_url(base), f"{ws_url(base)}?token=not-a-jwt"):
        with connect(url, open_timeout=5) as sock, pytest.raises(ConnectionClosed) as closed:
            sock.recv(timeout=5)
        assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    forged = Signer().token("w3")  # right shape, unknown key
    with connect(f"{ws_url(base)}?token={forged}", open_timeout=5) as sock, \
            pytest.raises(ConnectionClosed) as closed:
        sock.recv(timeout=5)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401


def test_socket_is_closed_when_its_token_expires(
        notifications: Notifications, gateways: Callable[[], str]) -> None:
    base = gateways()
    sock = open_socket(base, notifications.signer.token("w4", ttl=timedelta(seconds=2)))
    with pytest.raises(ConnectionClosed) as closed:
        sock.recv(timeout=6)
    assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    assert "expired" in closed.value.rcvd.reason
