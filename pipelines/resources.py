"""Resources of the code location, as configurable classes under stable keys.

`warehouse` is the one door to the lake and the DuckDB warehouse: it builds models, runs the
Great Expectations suites and publishes snapshots. Paths come from the environment by default
(`LAKE_ROOT`, `WAREHOUSE_DIR`, `GX_DIR`) and can be set per deployment in the UI/config.
"""

from __future__ import annotations

from pathlib import Path

import dagster as dg

from warehouse.build import Warehouse
from warehouse.settings import WarehouseSettings

PREVIEW_ROWS = 5


def _markdown_preview(con, table: str) -> str:
    rel = con.sql(f"SELECT * FROM {table} LIMIT {PREVIEW_ROWS}")
    header = "| " + " | ".join(rel.columns) + " |"
    rule = "|" + "---|" * len(rel.columns)
    rows = ["| " + " | ".join("" if v is None else str(v) for v in row) + " |" for row in rel.fetchall()]
    return "\n".join([header, rule, *rows])


class WarehouseResource(dg.ConfigurableResource):
    """The lake root and the warehouse directory the pipelines read and write."""

    lake_root: str = WarehouseSettings().lake_root
    warehouse_dir: str = str(WarehouseSettings().warehouse_dir)
    gx_dir: str = str(WarehouseSettings().gx_dir)

    def builder(self) -> Warehouse:
        return Warehouse(self.warehouse_dir, self.lake_root)

    def materialize(self, context: dg.AssetExecutionContext, model_key: str) -> dg.MaterializeResult:
        """Build one SQL model (staging incrementally by day) and describe the result."""
        from warehouse.models import load_models

        builder = self.builder()
        with builder.connect() as con:
            result = builder.run_model(con, load_models()[model_key])
            preview = _markdown_preview(con, model_key)
        context.log.info(
            f"{model_key}: {result.mode}, {result.row_count} rows, "
            f"{len(result.days_loaded)} day partitions in {result.seconds:.2f}s"
        )
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.row_count,
                "mode": result.mode,
                "days_loaded": [d.isoformat() for d in result.days_loaded][-31:],
                "seconds": round(result.seconds, 3),
                "table": model_key,
                "preview": dg.MetadataValue.md(preview),
            }
        )

    def check(self, model_key: str) -> dg.AssetCheckResult:
        """Run the table's Great Expectations suite; failures name the expectation and values."""
        from warehouse.quality import validate

        builder = self.builder()
        with builder.connect() as con:
            result = validate(con, model_key, gx_dir=Path(self.gx_dir))
        metadata: dict = {
            "expectations": result.evaluated,
            "rows": result.row_count,
            "failures": dg.MetadataValue.md("\n".join(f"- {f}" for f in result.failures) or "none"),
        }
        if result.docs_index:
            metadata["data_docs"] = dg.MetadataValue.path(str(result.docs_index))
        return dg.AssetCheckResult(
            passed=result.success,
            metadata=metadata,
            description=None if result.success else "; ".join(result.failures)[:2000],
        )


class RedisResource(dg.ConfigurableResource):
    """The shared Redis (`REDIS_URL`), or the embedded server of the data folder when unset."""

    url: str | None = None
    data_dir: str = str(WarehouseSettings().data_dir)

    def client(self):  # -> redis.Redis (imported lazily: the code location loads fast)
        import os

        from services.platform.redis import resolve_redis_url, sync_client

        return sync_client(resolve_redis_url(self.url or os.environ.get("REDIS_URL"), Path(self.data_dir)))


class RecommendationsResource(dg.ConfigurableResource):
    """Where the recommendation assets keep their files and models, and how interactions weigh.

    weight = kind weight x value (rating stars) x 0.5 ** (age in days / half_life_days), age
    counted from the newest interaction (not the wall clock: a rebuild gives the same weights).
    """

    work_dir: str = str(WarehouseSettings().data_dir / "reco")
    registry_dir: str = str(WarehouseSettings().data_dir / "models")
    view_weight: float = 1.0
    add_to_cart_weight: float = 3.0
    purchase_weight: float = 5.0
    rating_weight: float = 1.0
    half_life_days: float = 30.0
    test_fraction: float = 0.2
    k: int = 10

    def path(self, name: str) -> Path:
        folder = Path(self.work_dir)
        folder.mkdir(parents=True, exist_ok=True)
        return folder / name

    def weights(self):  # -> models.data.WeightConfig
        from models.data import WeightConfig

        kinds = {"view": self.view_weight, "add_to_cart": self.add_to_cart_weight,
                 "purchase": self.purchase_weight, "rating": self.rating_weight}
        return WeightConfig({k: v for k, v in kinds.items() if v > 0}, self.half_life_days or None)

    def train_config(self, model_type: str, params: dict):  # -> models.pipeline.TrainConfig
        from models.pipeline import TrainConfig

        return TrainConfig(model_type=model_type, params=params, weights=self.weights(),
                           test_fraction=self.test_fraction, k=self.k)

    def registry(self):  # -> models.registry.Registry
        from models.registry import Registry

        return Registry(self.registry_dir)
