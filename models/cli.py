"""`shop reco ...`: benchmark, train, evaluate, promote, rollback, list.

Heavy imports stay inside the commands so `shop --help` is fast.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Annotated

import typer

# implicit recommends one OpenBLAS thread (it parallelises itself); must be set before numpy loads.
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

app = typer.Typer(help="Recommenders: train, evaluate, promote and benchmark.", no_args_is_help=True)

RegistryOpt = Annotated[
    Path | None, typer.Option("--registry", help="registry directory (default data/models)")
]
TestDays = Annotated[float | None, typer.Option(help="hold out the last N days")]
TestFraction = Annotated[float, typer.Option(help="else each user's latest fraction")]
Weights = Annotated[str | None, typer.Option(help='JSON weights per kind, e.g. {"view":1,"purchase":5}')]
DEFAULT_INTERACTIONS = Path(os.environ.get("SHOP_DATA_DIR", "data")) / "reco" / "interactions.parquet"
"""Where `shop reco interactions` and the Dagster `interactions` asset write."""
HalfLife = Annotated[float | None, typer.Option(help="time-decay half-life in days (0 = none)")]


def _config(model: str, params: str, test_days, test_fraction, weights, half_life, k):
    from models.data import DEFAULT_KIND_WEIGHTS, WeightConfig
    from models.pipeline import TrainConfig

    kinds = json.loads(weights) if weights else dict(DEFAULT_KIND_WEIGHTS)
    return TrainConfig(
        model_type=model,
        params=json.loads(params),
        weights=WeightConfig(kinds, half_life or None),
        test_days=test_days,
        test_fraction=test_fraction,
        k=k,
    )


def _fail(exc: Exception) -> None:
    typer.secho(f"error: {exc}", fg=typer.colors.RED, err=True)
    raise typer.Exit(1)


@app.command()
def benchmark(
    split: Annotated[str, typer.Option(help="legacy (published table) or current MS split")] = "legacy",
    out: Annotated[Path, typer.Option(help="JSON result path")] = Path("bench/results/reco_ml100k.json"),
    repeats: Annotated[int, typer.Option(help="fits per model for the median fit time")] = 3,
    tune: Annotated[
        bool,
        typer.Option(help="also run the seeded search on validation splits of train; log: <out>_tuning.json"),
    ] = False,
) -> None:
    """MovieLens 100K: our models beside the published MS Recommenders rows."""
    from models import benchmark as bm

    result = bm.run(split=split, repeats=repeats, progress=typer.echo)
    bm.write(result, out)
    typer.echo(bm.table(result))
    typer.echo(f"wrote {out} and {out.with_suffix('.png')}")
    if tune:
        # The search log goes beside the results (e.g. reco_ml100k_tuning.json), not inside them.
        tuning_out = out.with_name(f"{out.stem}_tuning.json")
        bm.write_tuning(bm.tune(progress=typer.echo), tuning_out)
        typer.echo(f"wrote {tuning_out}")


@app.command()
def interactions(
    out: Annotated[Path, typer.Argument(help="Parquet file to write")] = DEFAULT_INTERACTIONS,
    weights: Weights = None,
    half_life: HalfLife = 30.0,
) -> None:
    """Export the weighted interactions from the warehouse (what the Dagster asset writes)."""
    from models.data import DEFAULT_KIND_WEIGHTS, WeightConfig
    from pipelines.assets.recommendations._source import write_interactions
    from warehouse.build import Warehouse

    config = WeightConfig(json.loads(weights) if weights else dict(DEFAULT_KIND_WEIGHTS), half_life or None)
    with Warehouse().connect() as con:
        frame = write_interactions(con, out, config)
    kinds = ", ".join(f"{k} {n}" for k, n in frame.group_by("event_type").len().sort("event_type").rows())
    typer.echo(f"wrote {frame.height} interactions ({kinds or 'none'}) to {out}")


@app.command()
def train(
    interactions: Annotated[Path, typer.Argument(help="interactions Parquet file")] = DEFAULT_INTERACTIONS,
    model: Annotated[str, typer.Option(help="model type (see `list-types`)")] = "ease",
    params: Annotated[str, typer.Option(help="model parameters as JSON")] = "{}",
    registry: RegistryOpt = None,
    test_days: TestDays = None,
    test_fraction: TestFraction = 0.2,
    weights: Weights = None,
    half_life: HalfLife = 30.0,
    k: int = 10,
) -> None:
    """Fit on the train part, evaluate on the held-out part, save a new registry version."""
    from models.pipeline import load_interactions, snapshot_id, train_and_evaluate
    from models.registry import Registry

    try:
        config = _config(model, params, test_days, test_fraction, weights, half_life, k)
        df = load_interactions(interactions)
        typer.echo(f"loaded {df.height} interactions from {interactions}")
        fitted, metrics, data = train_and_evaluate(df, config, progress=typer.echo)
        snap = snapshot_id(interactions)
        version = Registry(registry).save(
            fitted,
            data.train,
            metrics=metrics,
            data_snapshot=snap,
            evaluation_snapshot=f"{snap}|{data.split}|k={k}",
            extra={"weights": config.weights.to_dict(), "split": data.split},
        )
    except (ValueError, FileNotFoundError, KeyError) as exc:
        _fail(exc)
    typer.echo(f"saved {version}")


@app.command()
def evaluate(
    version: Annotated[str, typer.Argument(help="registry version, e.g. v0003")],
    interactions: Annotated[Path, typer.Argument(help="interactions Parquet file")] = DEFAULT_INTERACTIONS,
    registry: RegistryOpt = None,
    test_days: TestDays = None,
    test_fraction: TestFraction = 0.2,
    weights: Weights = None,
    k: int = 10,
) -> None:
    """Score a saved version on a file's held-out part and record it (for like-for-like promotion)."""
    from models.pipeline import evaluate_in_space, load_interactions, snapshot_id, split_label
    from models.registry import Registry, RegistryError

    try:
        config = _config("ease", "{}", test_days, test_fraction, weights, None, k)
        reg = Registry(registry)
        loaded = reg.load(version)
        df = load_interactions(interactions)
        typer.echo(f"evaluating {version} on {df.height} interactions")
        metrics = evaluate_in_space(loaded.model, loaded.user_ids, loaded.item_ids, df, config)
        snap = f"{snapshot_id(interactions)}|{split_label(config)}|k={k}"
        reg.record_evaluation(version, snap, metrics)
    except (ValueError, FileNotFoundError, RegistryError) as exc:
        _fail(exc)
    typer.echo("  ".join(f"{name} {value:.4f}" for name, value in metrics.items()))


@app.command()
def promote(
    version: Annotated[str, typer.Argument(help="registry version to put in service")],
    metric: str = "ndcg_at_k",
    registry: RegistryOpt = None,
    force: Annotated[bool, typer.Option(help="skip the comparison (emergencies only)")] = False,
) -> None:
    """Serve VERSION if it beats the model in service on the held-out metric."""
    from models.registry import Registry, RegistryError

    try:
        decision = Registry(registry).promote(version, metric=metric, force=force)
    except RegistryError as exc:
        _fail(exc)
    typer.echo(f"promoted {version}: {json.dumps(decision)}")


@app.command()
def rollback(
    version: Annotated[str | None, typer.Argument(help="version to serve (default: previous)")] = None,
    registry: RegistryOpt = None,
) -> None:
    """Serve a previous version again."""
    from models.registry import Registry, RegistryError

    try:
        served = Registry(registry).rollback(version)
    except RegistryError as exc:
        _fail(exc)
    typer.echo(f"in service: {served}")


@app.command("list")
def list_versions(registry: RegistryOpt = None) -> None:
    """Every saved version with its held-out metrics; * marks the one in service."""
    from models.registry import Registry

    rows = Registry(registry).list()
    if not rows:
        typer.echo("no models saved yet")
    for row in rows:
        mark = "*" if row["in_service"] else " "
        if "error" in row:
            typer.echo(f"{mark} {row['version']}  CORRUPT: {row['error']}")
            continue
        m = row["metrics"]
        typer.echo(
            f"{mark} {row['version']}  {row['model_type']:<11} ndcg@k {m.get('ndcg_at_k', 0):.4f}  "
            f"map {m.get('map', 0):.4f}  {row['data_snapshot']}  {row['created_at']}"
        )


@app.command("list-types")
def list_types() -> None:
    """Model types that `train --model` accepts."""
    from models.zoo import MODEL_TYPES

    for name, cls in sorted(MODEL_TYPES.items()):
        typer.echo(f"{name:<12} {(cls.__doc__ or '').strip().splitlines()[0]}")
