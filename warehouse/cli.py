"""`shop warehouse ...`: fill the lake in bulk, build and refresh the warehouse, compact the lake."""

from __future__ import annotations

import logging
from datetime import date
from pathlib import Path
from typing import Annotated

import typer

app = typer.Typer(help="Event lake and DuckDB warehouse.", no_args_is_help=True)

LakeOpt = Annotated[str | None, typer.Option(help="Lake root (default: $LAKE_ROOT or data/lake).")]
DirOpt = Annotated[
    Path | None, typer.Option(help="Warehouse dir (default: $WAREHOUSE_DIR or data/warehouse).")
]


def _logging() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")


@app.command("simulate-bulk")
def simulate_bulk(
    events: Annotated[int, typer.Option(help="About how many events to write.")] = 1_000_000,
    seed: Annotated[int, typer.Option(help="Same seed and start, same events.")] = 7,
    days: Annotated[int, typer.Option(help="Days of history.")] = 60,
    start: Annotated[str | None, typer.Option(help="First day (YYYY-MM-DD); default: "
                                                    "today minus --days.")] = None,
    lake: LakeOpt = None,
) -> None:
    """Write a large, realistic event history straight into the lake."""
    from warehouse.settings import WarehouseSettings
    from warehouse.simulate import simulate_bulk as run

    _logging()
    root = lake or WarehouseSettings().lake_root
    result = run(root, events=events, seed=seed, days=days,
                 start=date.fromisoformat(start) if start else None)
    typer.echo(f"wrote {result.events:,} events in {result.files:,} files to {root} "
               f"in {result.seconds:.1f}s ({result.events / result.seconds:,.0f} events/s)")


def _build(full: bool, directory: Path | None, lake: str | None) -> None:
    from warehouse.build import Warehouse

    _logging()
    report = Warehouse(directory, lake).refresh(full=full)
    for r in report.results:
        typer.echo(f"{r.model:40s} {r.mode:12s} {r.row_count:>12,} rows "
                   f"{len(r.days_loaded):>4} days {r.seconds:7.2f}s")
    typer.echo(f"published {report.snapshot} in {report.seconds:.1f}s")


@app.command()
def build(directory: DirOpt = None, lake: LakeOpt = None) -> None:
    """Rebuild every table from the whole lake and publish a snapshot."""
    _build(True, directory, lake)


@app.command()
def refresh(directory: DirOpt = None, lake: LakeOpt = None) -> None:
    """Reload only the changed day partitions, rebuild the marts, publish a snapshot."""
    _build(False, directory, lake)


@app.command()
def compact(lake: LakeOpt = None) -> None:
    """Merge the small files of every lake partition (rows kept once)."""
    from warehouse.lake import compact_lake
    from warehouse.settings import WarehouseSettings

    _logging()
    removed = compact_lake(lake or WarehouseSettings().lake_root)
    typer.echo(f"merged away {sum(removed.values())} files in {len(removed)} event types")
