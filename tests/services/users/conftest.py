"""The users service over real HTTP (uvicorn), real Redis and SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import select

from services.users.app import create_app
from services.users.settings import UsersSettings
from services.users.store import OUTBOX
from tests.support.servers import serve

STRONG = "correct horse battery staple"


@dataclass
class UsersService:
    app: FastAPI
    http: httpx.Client

    def events(self, event_type: str | None = None) -> list[dict[str, Any]]:
        """Envelopes the service wrote to its outbox (what the relay will publish)."""
        with self.app.state.db.session() as session:
            rows = session.execute(select(OUTBOX.c.envelope).order_by(OUTBOX.c.seq)).scalars()
            return [e for e in rows if event_type is None or e["type"] == event_type]

    def register(self, email: str, password: str = STRONG, **extra: Any) -> dict[str, Any]:
        r = self.http.post("/api/users/register", json={"email": email, "password": password, **extra})
        assert r.status_code == 201, r.text
        return r.json()

    def login(self, email: str, password: str = STRONG, **kw: Any) -> httpx.Response:
        return self.http.post("/api/users/token", data={"username": email, "password": password}, **kw)

    def tokens(self, email: str, password: str = STRONG) -> dict[str, Any]:
        r = self.login(email, password)
        assert r.status_code == 200, r.text
        return r.json()

    def auth(self, email: str, password: str = STRONG) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens(email, password)['access_token']}"}


@pytest.fixture
def make_users(
    database_url: str, redis_url: str, redis_client: object, tmp_path: Path
) -> Iterator[Callable[..., UsersService]]:
    started: list[Any] = []

    def make(**overrides: Any) -> UsersService:
        settings = UsersSettings(database_url=database_url, redis_url=redis_url, data_dir=tmp_path,
                                 **overrides)
        app = create_app(settings)
        ctx = serve(app)
        base = ctx.__enter__()
        client = httpx.Client(base_url=base, timeout=30)
        started.append((ctx, client))
        return UsersService(app, client)

    yield make
    for ctx, client in reversed(started):
        client.close()
        ctx.__exit__(None, None, None)


@pytest.fixture
def users(make_users: Callable[..., UsersService]) -> UsersService:
    return make_users()
