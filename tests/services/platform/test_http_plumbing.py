"""Errors, body limits, request ids, metrics and probes as every service gets them."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from fastapi import FastAPI, Request
from pydantic import BaseModel, ConfigDict

from services.platform.app import create_service_app
from services.platform.errors import Conflict
from tests.support.servers import serve


class Item(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str
    quantity: int


def build() -> FastAPI:
    app = create_service_app(title="plumbing", max_body_bytes=1024)

    @app.post("/items")
    def create(item: Item) -> Item:
        return item

    @app.get("/conflict")
    def conflict() -> None:
        raise Conflict("Already there.", slug="already-there", existing_id="42")

    @app.get("/crash")
    def crash() -> None:
        raise RuntimeError("secret internals")

    async def failing() -> None:
        raise ConnectionError("db down")

    app.state.ready_checks = {"db": failing}
    return app


@pytest.fixture(scope="module")
def client() -> Iterator[httpx.Client]:
    with serve(build()) as base, httpx.Client(base_url=base) as c:
        yield c


def is_problem(r: httpx.Response, status: int, slug: str) -> dict:
    assert r.status_code == status, r.text
    assert r.headers["content-type"] == "application/problem+json"
    body = r.json()
    assert body["type"].endswith("/" + slug) and body["status"] == status and body["detail"]
    return body


def test_validation_errors_name_the_fields(client: httpx.Client) -> None:
    body = is_problem(client.post("/items", json={"name": "a", "quantity": "many"}), 422,
                      "validation-error")
    assert body["errors"][0]["field"] == "body.quantity"


def test_unknown_fields_are_refused(client: httpx.Client) -> None:
    body = is_problem(client.post("/items", json={"name": "a", "quantity": 1, "colour": "red"}),
                      422, "validation-error")
    assert body["errors"][0]["field"] == "body.colour"


def test_malformed_json_is_a_400(client: httpx.Client) -> None:
    r = client.post("/items", content=b'{"name": ', headers={"content-type": "application/json"})
    is_problem(r, 400, "malformed-json")


def test_oversized_bodies_are_refused_declared_or_streamed(client: httpx.Client) -> None:
    is_problem(client.post("/items", content=b"x" * 2048,
                           headers={"content-type": "application/json"}), 413, "payload-too-large")

    def chunks() -> Iterator[bytes]:
        for _ in range(8):
            yield b"x" * 256

    is_problem(client.post("/items", content=chunks(), headers={"content-type": "application/json"}),
               413, "payload-too-large")


def test_domain_problems_keep_their_extras(client: httpx.Client) -> None:
    body = is_problem(client.get("/conflict"), 409, "already-there")
    assert body["existing_id"] == "42"


def test_unexpected_errors_are_500_problems_without_internals(client: httpx.Client) -> None:
    r = client.get("/crash")
    body = is_problem(r, 500, "internal-error")
    assert "secret" not in r.text and "Traceback" not in r.text
    assert body["detail"] == "An unexpected error occurred."


def test_unknown_route_and_method(client: httpx.Client) -> None:
    is_problem(client.get("/nope"), 404, "not-found")
    is_problem(client.delete("/items"), 405, "method-not-allowed")


def test_request_id_is_echoed_or_generated(client: httpx.Client) -> None:
    assert client.get("/health", headers={"x-request-id": "abc-123"}).headers["x-request-id"] == "abc-123"
    generated = client.get("/health", headers={"x-request-id": "bad id\twith spaces"})
    assert generated.headers["x-request-id"] != "bad id\twith spaces"
    assert len(generated.headers["x-request-id"]) == 32


def test_ready_reports_failing_dependencies(client: httpx.Client) -> None:
    body = is_problem(client.get("/ready"), 503, "not-ready")
    assert body["checks"]["db"].startswith("failing")


def test_metrics_count_requests_by_route_template(client: httpx.Client) -> None:
    client.post("/items", json={"name": "a", "quantity": 1})
    text = client.get("/metrics").text
    assert 'http_requests_total{method="POST",route="/items",status="200"}' in text


def test_docs_are_served_without_a_cdn(client: httpx.Client) -> None:
    html = client.get("/docs").text
    assert "/docs/assets/swagger-ui-bundle.js" in html
    assert client.get("/docs/assets/swagger-ui-bundle.js").status_code == 200


def test_keep_alive_pool_reuses_connections_and_survives_a_closed_one() -> None:
    import socket

    from services.platform.http_pool import Pool

    echo = FastAPI()
    echo.get("/health")(lambda: {"status": "ok"})

    @echo.get("/who")
    def who(request: Request) -> dict[str, int]:
        return {"port": request.client.port}

    with serve(echo) as base:
        pool = Pool(base, timeout_s=5)
        first = pool.request("GET", "/who", headers={})
        assert first[0] == 200
        assert pool.request("GET", "/who", headers={}) == first  # the same kept-alive connection
        (conn, _), = pool._idle
        conn.sock.shutdown(socket.SHUT_RDWR)  # the server side closed it meanwhile
        status, body = pool.request("GET", "/who", headers={})
        assert status == 200 and body != first[1]  # retried once, on a new connection
        pool.close()
        assert pool._idle == []


def test_metrics_of_a_multi_process_service_sum_every_process(tmp_path: Path) -> None:
    """A service run with several workers (the catalog) answers /metrics from whichever process
    gets the scrape: each must report the requests all of them served."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path)}
    serve_some = ("from services.platform.middleware import REQUESTS\n"
                  "REQUESTS.labels('GET', '/api/things', '200').inc({n})")
    for n in (2, 3):  # two worker processes, each with its own requests
        subprocess.run([sys.executable, "-c", serve_some.format(n=n)], env=env, check=True)
    scrape = ("import asyncio\nfrom services.platform.health import metrics\n"
              "print(asyncio.run(metrics()).body.decode())")
    out = subprocess.run([sys.executable, "-c", scrape], env=env, check=True, capture_output=True,
                         text=True).stdout
    assert 'http_requests_total{method="GET",route="/api/things",status="200"} 5.0' in out, out
