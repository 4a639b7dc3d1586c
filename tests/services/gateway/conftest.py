"""The gateway in front of the real users service and a catalog stand-in (the catalog service
is a later issue; the stand-in is a real HTTP server that lets us observe what arrives)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI, Request, Response

from services.gateway.app import create_app as create_gateway
from services.gateway.settings import GatewaySettings
from services.users.app import create_app as create_users
from services.users.settings import UsersSettings
from tests.support.servers import free_port, serve

STRONG = "correct horse battery staple"


def catalog_stand_in() -> FastAPI:
    app = FastAPI(title="catalog")
    app.state.hits = 0
    app.state.echo_hits = 0

    @app.get("/health")
    def health() -> dict[str, str]:
        return {"status": "ok"}

    @app.get("/api/catalog/products")
    def products() -> dict[str, Any]:
        app.state.hits += 1
        return {"items": [{"sku": "A-1"}], "hits": app.state.hits}

    @app.api_route("/api/catalog/echo", methods=["GET", "POST"])
    async def echo(request: Request, response: Response) -> dict[str, Any]:
        response.headers["cache-control"] = "no-store"
        app.state.echo_hits += 1
        return {"headers": dict(request.headers), "body": (await request.body()).decode()}

    @app.get("/api/catalog/slow")
    async def slow() -> dict[str, str]:
        await asyncio.sleep(3)
        return {"status": "late"}

    return app


@dataclass
class Stack:
    gateway: httpx.Client
    users_app: FastAPI
    catalog: FastAPI
    users_url: str

    def register_and_login(self, email: str, password: str = STRONG) -> dict[str, Any]:
        r = self.gateway.post("/api/users/register", json={"email": email, "password": password})
        assert r.status_code == 201, r.text
        r = self.gateway.post("/api/users/token", data={"username": email, "password": password})
        assert r.status_code == 200, r.text
        return r.json()


@pytest.fixture(scope="module")
def upstreams(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("gw")
    users_app = create_users(UsersSettings(database_url=f"sqlite:///{data / 'users.db'}",
                                           redis_url=redis_url, data_dir=data))
    catalog = catalog_stand_in()
    with serve(users_app) as users_url, serve(catalog) as catalog_url:
        yield {"users_app": users_app, "catalog": catalog, "data": data,
               "urls": {"users": users_url, "catalog": catalog_url,
                        "orders": f"http://127.0.0.1:{free_port()}"}}


@pytest.fixture
def make_stack(upstreams: dict[str, Any], redis_url: str) -> Iterator[Callable[..., Stack]]:
    with ExitStack() as stack:

        def make(**overrides: Any) -> Stack:
            overrides.setdefault("upstreams", upstreams["urls"])
            settings = GatewaySettings(redis_url=redis_url, data_dir=Path(upstreams["data"]),
                                       **overrides)
            base = stack.enter_context(serve(create_gateway(settings)))
            client = stack.enter_context(httpx.Client(base_url=base, timeout=10))
            return Stack(client, upstreams["users_app"], upstreams["catalog"],
                         upstreams["urls"]["users"])

        yield make


@pytest.fixture
def stack(make_stack: Callable[..., Stack], redis_client: object) -> Stack:
    return make_stack()
