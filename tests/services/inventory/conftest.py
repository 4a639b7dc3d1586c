"""The inventory service over real HTTP (uvicorn) on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.inventory.app import create_app
from services.inventory.settings import InventorySettings
from services.inventory.store import OUTBOX
from tests.services.inventory.identity import Issuer, issuer  # noqa: F401 - fixture
from tests.support.servers import serve

ADMIN = "admin-1"


@dataclass
class InventoryService:
    app: FastAPI
    http: httpx.Client
    base_url: str
    issuer: Issuer

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        with self.app.state.db.session() as session:
            rows = session.execute(select(OUTBOX.c.envelope).order_by(OUTBOX.c.seq)).scalars()
            return [e for e in rows if event_type is None or e["type"] == event_type]

    def auth(self, user_id: str = "shopper-1", *, admin: bool = False) -> dict[str, str]:
        return self.issuer.auth(user_id, admin=admin)

    def adjust(self, sku: str, delta: int, *, reason: str = "goods received", **extra: Any) -> httpx.Response:
        return self.http.post(f"/api/inventory/stock/{sku}/adjustments",
                              json={"delta": delta, "reason": reason, **extra},
                              headers=self.auth(ADMIN, admin=True))

    def stock(self, sku: str) -> dict[str, Any]:
        r = self.http.get(f"/api/inventory/stock/{sku}")
        assert r.status_code == 200, r.text
        return r.json()

    def reserve(self, order_id: str, lines: list[tuple[str, int]], *, user: str = "shopper-1",
                **extra: Any) -> httpx.Response:
        body = {"order_id": order_id, "lines": [{"sku": s, "quantity": q} for s, q in lines], **extra}
        return self.http.post("/api/inventory/reservations", json=body, headers=self.auth(user))


@pytest.fixture
def make_inventory(
    database_url: str, issuer: Issuer, tmp_path: Path  # noqa: F811 - fixture
) -> Iterator[Callable[..., InventoryService]]:
    started: list[Any] = []

    def make(**overrides: Any) -> InventoryService:
        settings = InventorySettings(database_url=database_url, data_dir=tmp_path,
                                     jwks_url=issuer.jwks_url, **overrides)
        app = create_app(settings)
        ctx = serve(app)
        base = ctx.__enter__()
        client = httpx.Client(base_url=base, timeout=60)
        started.append((ctx, client))
        return InventoryService(app, client, base, issuer)

    yield make
    for ctx, client in reversed(started):
        client.close()
        ctx.__exit__(None, None, None)


@pytest.fixture
def inventory(make_inventory: Callable[..., InventoryService]) -> InventoryService:
    return make_inventory()
