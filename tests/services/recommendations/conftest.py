"""The recommendations service over real HTTP with a real Redis and the users service for
tokens; publications are written with the same writer the pipeline uses."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as redis_lib

from services.platform.events import EventData, make_event, stream_for
from services.recommendations.app import create_app
from services.recommendations.settings import RecommendationsSettings
from services.recommendations.store import Publication, write_publication
from services.users.app import create_app as create_users
from services.users.settings import UsersSettings
from tests.support.servers import serve

PASSWORD = "correct horse battery staple"
HOME = ["P1", "P2", "P3", "P4"]
SPORTS = ["P5", "P6", "P7", "P8"]


@dataclass
class Stack:
    http: httpx.Client
    users: httpx.Client
    users_app: Any
    data: Path
    jwks_url: str

    def auth(self, email: str, *, admin: bool = False) -> tuple[str, dict[str, str]]:
        """(user id, Authorization header) of a new customer or admin."""
        if admin:
            self.users_app.state.accounts.create_admin(email=email, password=PASSWORD)
        else:
            r = self.users.post("/api/users/register", json={"email": email, "password": PASSWORD})
            assert r.status_code == 201, r.text
        pair = self.users.post("/api/users/token", data={"username": email, "password": PASSWORD}).json()
        header = {"Authorization": f"Bearer {pair['access_token']}"}
        return self.users.get("/api/users/me", headers=header).json()["id"], header


@pytest.fixture(scope="module")
def users_server(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[tuple[str, Any, Path]]:
    data = tmp_path_factory.mktemp("reco-service")
    app = create_users(UsersSettings(database_url=f"sqlite:///{data / 'users.db'}", redis_url=redis_url,
                                     data_dir=data))
    with serve(app) as url:
        yield url, app, data


@pytest.fixture(scope="module")
def stack(users_server: tuple[str, Any, Path], redis_url: str) -> Iterator[Stack]:
    users_url, users_app, data = users_server
    jwks = f"{users_url}/.well-known/jwks.json"
    app = create_app(RecommendationsSettings(redis_url=redis_url, data_dir=data, jwks_url=jwks,
                                             pointer_check_s=0))
    with serve(app) as base, httpx.Client(base_url=base) as client, \
            httpx.Client(base_url=users_url) as users:
        yield Stack(client, users, users_app, data, jwks)


def ranked(items: list[str], top: float = 1.0) -> list[tuple[str, float]]:
    return [(item, round(top - i * 0.1, 3)) for i, item in enumerate(items)]


def sample_publication(users: dict[str, list[str]], bought: dict[str, list[str]] | None = None,
                       version: str = "v0007") -> Publication:
    """Eight products in two categories, P9 known only by its text (content neighbours)."""
    return Publication(
        model=f"ease@{version}", model_version=version,
        users={u: ranked(items) for u, items in users.items()},
        similar={"P1": ranked(["P2", "P3"]), "P2": ranked(["P1", "P4"]), "P5": ranked(["P6", "P7"]),
                 "P9": ranked(["P1"], 0.4)},
        similar_source={"P9": "content"},
        bought_together={"P1": [("P5", 3.0), ("P2", 1.0)], "P5": [("P6", 2.0)]},
        bought=bought or {},
        popular=ranked(HOME + SPORTS, 10.0),
        popular_by_category={"Home": ranked(HOME, 10.0), "Sports": ranked(SPORTS, 10.0)},
        items={**dict.fromkeys(HOME, "Home"), **dict.fromkeys(SPORTS, "Sports"), "P9": "Home"},
        skus={f"SKU{i}": f"P{i}" for i in range(1, 10)},
    )


@pytest.fixture
def publish(redis_client: redis_lib.Redis) -> Callable[..., str]:
    def run(users: dict[str, list[str]], **kw: Any) -> str:
        return write_publication(redis_client, sample_publication(users, **kw))

    return run


@pytest.fixture
def emit(redis_client: redis_lib.Redis) -> Callable[[EventData, str], None]:
    """Put an event on its source's stream, as that service's relay would."""

    def run(data: EventData, source: str) -> None:
        redis_client.xadd(stream_for(source), {"event": make_event(data, source=source).to_json()})

    return run


def eventually(check: Callable[[], Any], timeout: float = 10.0) -> Any:
    """Poll until `check()` is truthy (the signals consumer runs in the service's thread)."""
    deadline = time.monotonic() + timeout
    while True:
        value = check()
        if value or time.monotonic() > deadline:
            return value
        time.sleep(0.05)
