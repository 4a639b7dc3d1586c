"""Real services for the checkout tests: tokens signed by the real users service, and the
payments, delivery and orders apps served over HTTP (uvicorn) on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Table, select

from services.users.app import create_app as create_users
from services.users.settings import UsersSettings
from tests.support.servers import serve

SERVICE_ACCOUNT = "svc-orders"
"""The orders service's own identity (an admin), as minted for it in production by `shop up`."""


@dataclass
class Issuer:
    users_app: FastAPI
    jwks_url: str

    def token(self, user_id: str, *, admin: bool = False, ttl: int = 3600) -> str:
        roles = ["customer", "admin"] if admin else ["customer"]
        return self.users_app.state.keyring.issue_access_token(
            user_id=user_id, email=f"{user_id}@example.com", roles=roles, ttl_seconds=ttl)

    def auth(self, user_id: str, *, admin: bool = False) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token(user_id, admin=admin)}"}


@pytest.fixture(scope="session")
def issuer(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[Issuer]:
    data = tmp_path_factory.mktemp("identity")
    app = create_users(UsersSettings(database_url=f"sqlite:///{data / 'users.db'}",
                                     redis_url=redis_url, data_dir=data))
    with serve(app) as base:
        yield Issuer(app, f"{base}/.well-known/jwks.json")


@dataclass
class Running:
    """One service served over HTTP: its app (for its database) and a client."""

    app: FastAPI
    base_url: str
    http: httpx.Client
    issuer: Issuer
    outbox: Table | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def auth(self, user_id: str = "shopper-1", *, admin: bool = False) -> dict[str, str]:
        return self.issuer.auth(user_id, admin=admin)

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        assert self.outbox is not None
        with self.app.state.db.read() as session:
            rows = session.execute(select(self.outbox.c.envelope).order_by(self.outbox.c.seq))
            return [e for e in rows.scalars() if event_type is None or e["type"] == event_type]


@contextmanager
def running(app: FastAPI, issuer: Issuer, outbox: Table | None = None) -> Iterator[Running]:
    with ExitStack() as stack:
        base = stack.enter_context(serve(app))
        client = stack.enter_context(httpx.Client(base_url=base, timeout=60))
        yield Running(app, base, client, issuer, outbox)


def problem(r: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    assert r.status_code == status, r.text
    assert r.headers["content-type"].startswith("application/problem+json"), r.headers
    body = r.json()
    assert body["type"].endswith("/" + slug), body
    return body


def sqlite_url(tmp: Path, name: str) -> str:
    return f"sqlite:///{tmp / f'{name}.db'}"
