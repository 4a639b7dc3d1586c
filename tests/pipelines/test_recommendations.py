"""The `recommendations` group materialises in-process over a small simulated warehouse:
interactions -> candidates -> evaluation -> promotion gate -> Redis publication; offers reach
the bus; a corrupted model in service is never published."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import dagster as dg
import orjson
import polars as pl
import pytest
import redis as redis_lib

from pipelines import assets as assets_package
from pipelines import defs
from pipelines.resources import RecommendationsResource, RedisResource, WarehouseResource
from services.catalog.events import ProductCreated
from services.platform.events import Event, make_event
from services.recommendations.events import STREAM
from services.recommendations.schemas import OfferRuleCreate
from services.recommendations.service import Offers
from services.recommendations.store import POINTER, pub_key
from warehouse.build import Warehouse
from warehouse.lake import LakeWriter
from warehouse.simulate import simulate_bulk

ASSETS = dg.load_assets_from_package_module(assets_package, include_specs=True)
GROUP = dg.AssetSelection.groups("recommendations")
COLD_ITEM = "PCOLD01"


@pytest.fixture(scope="module")
def resources(tmp_path_factory: pytest.TempPathFactory, redis_url: str) -> dict[str, Any]:
    root = tmp_path_factory.mktemp("reco-pipeline")
    start = datetime.now(UTC).date() - timedelta(days=19)
    simulate_bulk(root / "lake", events=20_000, seed=11, days=20, start=start)
    writer = LakeWriter(root / "lake")  # a product nobody has seen yet: text neighbours only
    cold = make_event(ProductCreated(product_id=COLD_ITEM, sku="SKUCOLD01", title="Acme knife deluxe",
                                     brand="Acme", category_path=["Home", "Kitchen"],
                                     price_minor=1999, currency="EUR"), source="catalog")
    writer.add([cold.model_copy(update={"occurred_at": datetime.now(UTC) - timedelta(days=1)})])
    writer.flush()
    Warehouse(root / "warehouse", root / "lake").refresh(full=True)
    return {
        "warehouse": WarehouseResource(lake_root=str(root / "lake"),
                                       warehouse_dir=str(root / "warehouse"), gx_dir=str(root / "gx")),
        "reco": RecommendationsResource(work_dir=str(root / "reco"), registry_dir=str(root / "models")),
        "redis": RedisResource(url=redis_url, data_dir=str(root)),
    }


@pytest.fixture(scope="module")
def redis(redis_url: str) -> Iterator[redis_lib.Redis]:
    client = redis_lib.Redis.from_url(redis_url)
    client.flushdb()
    yield client
    client.close()


def run(resources: dict[str, Any], selection: Any = GROUP, **kw: Any) -> dg.ExecuteInProcessResult:
    return dg.materialize(ASSETS, selection=selection, resources=resources, raise_on_error=False, **kw)


@pytest.fixture(scope="module")
def first_run(resources: dict[str, Any], redis: redis_lib.Redis) -> dg.ExecuteInProcessResult:
    """The whole group on an empty registry and an empty Redis (every default candidate)."""
    return run(resources)


def metadata(result: dg.ExecuteInProcessResult, asset: str) -> dict[str, Any]:
    for m in result.get_asset_materialization_events():
        if m.asset_key.to_user_string() == asset:
            return {k: v.value for k, v in m.materialization.metadata.items()}
    raise AssertionError(f"{asset} was not materialised")


def test_definitions_register_the_group_and_the_nightly_schedule() -> None:
    repo = defs.get_repository_def()
    keys = {k.to_user_string() for k in repo.assets_defs_by_key}
    assert {"interactions", "reco_candidates", "reco_evaluation", "promoted_model",
            "published_recommendations", "personal_offers", "product_popularity_signal"} <= keys
    schedule = repo.get_schedule_def("nightly_recommendations")
    assert schedule.job_name == "recommendations_job"


def test_group_materialises_promotes_and_publishes(resources: dict[str, Any], redis: redis_lib.Redis,
                                                   first_run: dg.ExecuteInProcessResult) -> None:
    result = first_run
    assert result.success
    inter = metadata(result, "interactions")
    frame = pl.read_parquet(Path(resources["reco"].work_dir) / "interactions.parquet")
    assert inter["dagster/row_count"] == frame.height > 1000
    assert set(frame["event_type"]) >= {"view", "add_to_cart", "purchase"}
    assert frame["weight"].min() > 0 and frame["user_id"].null_count() == 0

    promoted = metadata(result, "promoted_model")
    assert promoted["promoted"] is True and promoted["reason"] == "no model was in service"
    registry = resources["reco"].registry()
    assert registry.in_service() == promoted["in_service"]
    assert metadata(result, "reco_evaluation")["best_version"] == registry.in_service()
    assert (Path(resources["reco"].work_dir) / "evaluation.png").stat().st_size > 1000

    published = metadata(result, "published_recommendations")
    pub = redis.get(POINTER).decode()
    assert published["publication"] == pub and not published["fell_back_to_last_good"]
    meta = orjson.loads(redis.get(pub_key(pub, "meta")))
    model_type = registry.manifest(registry.in_service())["model_type"]
    assert meta["model"] == f"{model_type}@{registry.in_service()}" and meta["complete"]
    serving = registry.load_serving()
    user = str(serving.user_ids[0])
    assert orjson.loads(redis.get(pub_key(pub, "user", user)))["i"]
    cold = orjson.loads(redis.get(pub_key(pub, "similar", COLD_ITEM)))
    assert cold["src"] == "content" and cold["i"]
    assert published["items_with_bought_together"] > 0
    signal = pl.read_parquet(Path(resources["reco"].work_dir) / "popularity_signal.parquet")
    assert signal.height > 0 and signal["popularity"].is_sorted(descending=True)


def test_the_service_serves_what_the_pipeline_published(resources: dict[str, Any], redis_url: str,
                                                         tmp_path: Path, first_run: object) -> None:
    import httpx

    from services.recommendations.app import create_app
    from services.recommendations.settings import RecommendationsSettings
    from tests.support.servers import serve

    registry = resources["reco"].registry()
    serving = registry.load_serving()
    model = f"{registry.manifest(serving.version)['model_type']}@{serving.version}"
    app = create_app(RecommendationsSettings(redis_url=redis_url, data_dir=tmp_path, consume_events=False,
                                             jwks_url="http://127.0.0.1:9/.well-known/jwks.json"))
    with serve(app) as base, httpx.Client(base_url=base) as http:
        user = str(serving.user_ids[0])
        shelf = app.state.recommendations.for_user(user, 5)
        assert shelf.source == "personal" and shelf.model == model and shelf.total == 5
        item = str(serving.item_ids[0])
        similar = http.get(f"/api/recommendations/items/{item}/similar").json()
        assert similar["model"] == model and item not in [i["product_id"] for i in similar["items"]]
        cold = http.get(f"/api/recommendations/items/{COLD_ITEM}/similar").json()
        assert cold["source"] == "content" and cold["items"]
        cart = http.post("/api/recommendations/cart", json={"product_ids": [item]}).json()
        assert cart["source"] == "cart" and cart["total"] == 10


def test_gate_refuses_an_equal_candidate_and_keeps_serving(resources: dict[str, Any],
                                                           first_run: object) -> None:
    registry = resources["reco"].registry()
    before = registry.in_service()
    candidate = registry.manifest(before)["candidate"]
    config = {"ops": {"reco_candidates": {"config": {"candidates": [candidate]}}}}
    result = run(resources, run_config=config)
    assert result.success
    promoted = metadata(result, "promoted_model")
    assert promoted["promoted"] is False and "does not beat" in promoted["reason"]
    assert registry.in_service() == before
    assert metadata(result, "published_recommendations")["model"].endswith(f"@{before}")


def test_a_corrupted_model_in_service_is_not_published(resources: dict[str, Any],
                                                       first_run: object) -> None:
    registry = resources["reco"].registry()
    good = registry.in_service()
    other = next(v for v in reversed(registry.versions()) if v != good)
    registry.promote(other, force=True)
    (registry.root / other / "serving.npz").write_bytes(b"truncated")
    result = run(resources, selection=dg.AssetSelection.assets("published_recommendations"))
    assert result.success
    published = metadata(result, "published_recommendations")
    assert published["fell_back_to_last_good"] is True and published["model"].endswith(f"@{good}")


def test_offers_reach_the_bus_once(resources: dict[str, Any], redis: redis_lib.Redis) -> None:
    redis.delete(STREAM)
    offers = Offers(redis)
    loyal = offers.create_rule(OfferRuleCreate(name="Thanks", segment="loyal", kind="percent",
                                               percent=10, campaign_id="LOYAL-2026"))
    offers.create_rule(OfferRuleCreate(name="Come back", segment="at_risk", kind="fixed",
                                       amount_minor=500, currency="EUR", campaign_id="WINBACK"))
    with resources["warehouse"].builder().connect() as con:
        segments = dict(con.sql("SELECT segment, count(*) FROM marts.rfm_segments GROUP BY 1").fetchall())
    selection = dg.AssetSelection.assets("personal_offers")
    result = run(resources, selection=selection)
    assert result.success
    granted = metadata(result, "personal_offers")
    expected = segments.get("loyal", 0) + segments.get("at_risk", 0)
    assert granted["granted"] == expected > 0
    events = [Event.from_json(f[b"event"]) for _, f in redis.xrange(STREAM)]
    assert len(events) == expected
    first = next(e for e in events if e.data["rule_id"] == loyal.id)
    assert first.type == "recommendation.offer_granted" and first.id == first.data["offer_id"]
    assert first.data["campaign_id"] == "LOYAL-2026" and first.data["percent_bp"] == 1000
    assert {e.data["campaign_id"] for e in events} == {"LOYAL-2026", "WINBACK"} or not segments.get("at_risk")

    again = metadata(run(resources, selection=selection), "personal_offers")
    assert again["granted"] == 0 and again["already_held"] == expected
    assert redis.xlen(STREAM) == expected


def test_no_interactions_is_a_clear_failure(resources: dict[str, Any], tmp_path: Path) -> None:
    empty = RecommendationsResource(work_dir=str(tmp_path), registry_dir=str(tmp_path / "models"))
    pl.DataFrame(schema={"user_id": pl.Utf8, "item_id": pl.Utf8, "event_type": pl.Utf8,
                         "timestamp": pl.Datetime}).write_parquet(tmp_path / "interactions.parquet")
    result = run({**resources, "reco": empty}, selection=dg.AssetSelection.assets("reco_candidates"))
    assert not result.success
    failure = result.get_step_failure_events()[0]
    assert "no interactions" in str(failure.event_specific_data.error)


def test_cli_trains_evaluates_promotes_and_rolls_back_from_the_warehouse(
    resources: dict[str, Any], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from typer.testing import CliRunner

    from models.cli import app

    monkeypatch.setenv("SHOP_DATA_DIR", str(Path(resources["warehouse"].warehouse_dir).parent))
    runner = CliRunner()
    out, registry = tmp_path / "interactions.parquet", str(tmp_path / "models")

    def shop_reco(*args: str) -> str:
        result = runner.invoke(app, list(args))
        assert result.exit_code == 0, result.output
        return result.output

    assert "purchase" in shop_reco("interactions", str(out))
    assert pl.read_parquet(out).height > 1000
    shop_reco("train", str(out), "--model", "popularity", "--registry", registry)
    shop_reco("train", str(out), "--model", "ease", "--registry", registry)
    shop_reco("promote", "v0001", "--registry", registry)
    shop_reco("evaluate", "v0001", str(out), "--registry", registry)
    promoted = runner.invoke(app, ["promote", "v0002", "--registry", registry])
    assert promoted.exit_code == 0 or "does not beat" in promoted.output
    if promoted.exit_code == 0:
        assert "in service: v0001" in shop_reco("rollback", "--registry", registry)
    assert "* v0001" in shop_reco("list", "--registry", registry)
