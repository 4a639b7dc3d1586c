"""The analytics service over HTTP: behaviour-event intake onto the bus, and admin reports over
a warehouse built from the hand-checked event history of the warehouse tests."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
import redis as redis_lib

from services.analytics.app import create_app as create_analytics
from services.analytics.settings import AnalyticsSettings
from services.platform.events import Event, stream_for
from services.users.app import create_app as create_users
from services.users.settings import UsersSettings
from tests.support.servers import serve
from tests.warehouse.conftest import build_history
from warehouse.build import Warehouse
from warehouse.lake import LakeWriter

PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> Iterator[dict[str, Any]]:
    data = tmp_path_factory.mktemp("analytics")
    users = create_users(
        UsersSettings(database_url=f"sqlite:///{data / 'users.db'}", redis_url=redis_url, data_dir=data)
    )
    with serve(users) as users_url:
        analytics = create_analytics(
            AnalyticsSettings(
                redis_url=redis_url, data_dir=data, jwks_url=f"{users_url}/.well-known/jwks.json"
            )
        )
        with (
            serve(analytics) as base,
            httpx.Client(base_url=base) as client,
            httpx.Client(base_url=users_url) as users_client,
        ):
            yield {"http": client, "users": users_client, "users_app": users, "data": data}


def token(stack: dict[str, Any], email: str, admin: bool = False) -> dict[str, str]:
    if admin:
        stack["users_app"].state.accounts.create_admin(email=email, password=PASSWORD)
    else:
        stack["users"].post("/api/users/register", json={"email": email, "password": PASSWORD})
    pair = stack["users"].post("/api/users/token", data={"username": email, "password": PASSWORD})
    return {"Authorization": f"Bearer {pair.json()['access_token']}"}


def page_view(**over: Any) -> dict[str, Any]:
    return {"type": "page_view", "session_id": "s1", "anonymous_id": "d1", "path": "/", **over}


def stream_events(redis_client: redis_lib.Redis) -> list[Event]:
    return [Event.from_json(f[b"event"]) for _, f in redis_client.xrange(stream_for("analytics"))]


def test_intake_publishes_validated_events(stack: dict[str, Any], redis_client: redis_lib.Redis) -> None:
    r = stack["http"].post(
        "/api/analytics/events",
        json={
            "events": [
                page_view(),
                {
                    "type": "search",
                    "session_id": "s1",
                    "anonymous_id": "d1",
                    "query": "sofa",
                    "result_count": 0,
                    "occurred_at": "2026-01-01T10:00:00Z",
                },
            ]
        },
    )
    assert r.status_code == 202 and r.json() == {"accepted": 2}
    events = stream_events(redis_client)
    assert [e.type for e in events] == ["page_view", "search"]
    assert all(e.source == "analytics" and e.data["user_id"] is None for e in events)
    assert events[1].occurred_at == datetime(2026, 1, 1, 10, tzinfo=UTC)


def test_signed_in_events_carry_the_token_user_not_the_claimed_one(
    stack: dict[str, Any], redis_client: redis_lib.Redis
) -> None:
    auth = token(stack, "shopper@example.com")
    me = stack["users"].get("/api/users/me", headers=auth).json()
    r = stack["http"].post(
        "/api/analytics/events", headers=auth, json={"events": [page_view(user_id="someone-else")]}
    )
    assert r.status_code == 202
    assert stream_events(redis_client)[-1].data["user_id"] == me["id"]


@pytest.mark.parametrize(
    "events, fragment",
    [
        ([page_view(), {"type": "teleport", "session_id": "s", "anonymous_id": "d"}], "unknown event type"),
        ([page_view(path=None)], "path"),
        (
            [{"type": "search", "session_id": "s", "anonymous_id": "d", "query": "x", "result_count": -1}],
            "result_count",
        ),
        ([page_view(occurred_at=(datetime.now(UTC) + timedelta(hours=2)).isoformat())], "future"),
        ([page_view(occurred_at="2026-01-01T10:00:00")], "time zone"),
    ],
)
def test_bad_batches_are_refused_whole(
    stack: dict[str, Any], redis_client: redis_lib.Redis, events: list, fragment: str
) -> None:
    r = stack["http"].post("/api/analytics/events", json={"events": events})
    assert r.status_code == 422 and r.headers["content-type"] == "application/problem+json"
    assert fragment in str(r.json()["errors"])
    assert stream_events(redis_client) == []


def test_batch_limits(stack: dict[str, Any], redis_client: redis_lib.Redis) -> None:
    assert stack["http"].post("/api/analytics/events", json={"events": []}).status_code == 422
    big = {"events": [page_view() for _ in range(501)]}
    assert stack["http"].post("/api/analytics/events", json=big).json()["type"].endswith("batch-too-large")
    r = stack["http"].post(
        "/api/analytics/events", content=b"{", headers={"content-type": "application/json"}
    )
    assert r.status_code == 400


def test_reports_need_a_built_warehouse_and_an_admin(stack: dict[str, Any]) -> None:
    admin = token(stack, "boss@example.com", admin=True)
    r = stack["http"].get("/api/analytics/reports/sales", headers=admin)
    assert r.status_code == 503 and r.json()["type"].endswith("warehouse-not-built")
    customer = token(stack, "nosy@example.com")
    assert stack["http"].get("/api/analytics/reports/sales", headers=customer).status_code == 403
    assert stack["http"].get("/api/analytics/reports/sales").status_code == 401


@pytest.fixture(scope="module")
def built(stack: dict[str, Any]) -> Path:
    data: Path = stack["data"]
    main, late = build_history()
    writer = LakeWriter(data / "lake")
    writer.add(main + late)
    writer.flush()
    Warehouse(data / "warehouse", data / "lake").refresh(full=True)
    return data


def test_reports_match_the_marts(stack: dict[str, Any], built: Path) -> None:
    import duckdb

    admin = token(stack, "boss2@example.com", admin=True)
    body = stack["http"].get("/api/analytics/reports/sales", headers=admin).json()
    snapshot = sorted((built / "warehouse" / "snapshots").glob("*.duckdb"))[-1]
    with duckdb.connect(str(snapshot), read_only=True) as con:
        expected = con.sql(
            "SELECT sum(net_revenue_minor), sum(orders_paid) FROM marts.daily_sales"
        ).fetchall()[0]
    assert body["total"] > 0 and body["snapshot"] == snapshot.name
    assert sum(row["net_revenue_minor"] for row in body["items"]) == expected[0]
    monthly = (
        stack["http"].get("/api/analytics/reports/sales", headers=admin, params={"grain": "month"}).json()
    )
    assert sum(row["orders_paid"] for row in monthly["items"]) == expected[1]
    assert len(monthly["items"]) <= len(body["items"])

    for name in (
        "top-products",
        "trending",
        "funnel",
        "search",
        "zero-result-searches",
        "campaigns",
        "discounts",
        "cohorts",
        "rfm",
    ):
        r = stack["http"].get(f"/api/analytics/reports/{name}", headers=admin)
        assert r.status_code == 200, (name, r.text)

    csv_r = stack["http"].get("/api/analytics/reports/rfm", headers=admin, params={"format": "csv"})
    assert csv_r.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(csv_r.text)))
    json_rows = stack["http"].get("/api/analytics/reports/rfm", headers=admin).json()["items"]
    assert [r["segment"] for r in rows] == [r["segment"] for r in json_rows]


def test_report_filters_and_bad_parameters(stack: dict[str, Any], built: Path) -> None:
    admin = token(stack, "boss3@example.com", admin=True)
    get = stack["http"].get
    assert get("/api/analytics/reports/nope", headers=admin).status_code == 404
    r = get(
        "/api/analytics/reports/sales", headers=admin, params={"start": "2026-02-01", "end": "2026-01-01"}
    )
    assert r.status_code == 422
    assert get("/api/analytics/reports/sales", headers=admin, params={"grain": "year"}).status_code == 422
    assert (
        get("/api/analytics/reports/sales", headers=admin, params={"start": "yesterday"}).status_code == 422
    )
    empty = get("/api/analytics/reports/sales", headers=admin, params={"start": "2099-01-01"}).json()
    assert empty["total"] == 0
    one_category = get(
        "/api/analytics/reports/top-products", headers=admin, params={"category": "no-such-category"}
    ).json()
    assert one_category["items"] == []
