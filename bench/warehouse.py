"""Warehouse benchmark (all numbers from one run on this machine).

- lake writer: `LakeWriter.add` + `flush` of ready-made envelopes, in events/s (target >= 50k/s);
- bulk simulator: events/s writing the benchmark lake (informative);
- full build: every staging table and mart from the whole lake, plus publishing the snapshot,
  against a raw DuckDB aggregate over the same Parquet (events per type and day, distinct ids)
  run in the same process; target: full build <= 1.5 x raw time x number of marts;
- incremental refresh: one more hour of traffic (plus its catalog/user events, which land in old
  day partitions like late events) then `refresh()`; target < 10 s.

Run: python -m bench.warehouse [--events N] [--days D]  ->  bench/results/warehouse.json
"""

from __future__ import annotations

import argparse
import json
import platform
import shutil
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import duckdb

from services.platform.events import Event
from warehouse.build import Warehouse
from warehouse.lake import LakeWriter, list_partitions, open_lake
from warehouse.models import load_models
from warehouse.simulate import simulate_bulk

OUT = Path("bench/results/warehouse.json")
START = date(2024, 1, 1)


def _writer_events(n: int) -> list[Event]:
    """A realistic mix: page and product views dominate, one order in fifty events."""
    base = datetime(2024, 3, 1, tzinfo=UTC)
    out = []
    for i in range(n):
        at = base + timedelta(seconds=i * 2)
        session = {"session_id": f"s{i // 10}", "anonymous_id": f"d{i // 40}",
                   "user_id": f"u{i // 40}" if i % 3 else None}
        if i % 50 == 0:
            out.append(Event(type="order.placed", source="orders", occurred_at=at, data={
                "order_id": f"o{i}", "user_id": f"u{i // 40}", "session_id": session["session_id"],
                "lines": [{"sku": "S1", "product_id": "P1", "category": "Home", "quantity": 1,
                           "unit_price_minor": 1999, "discount_minor": 0}],
                "subtotal_minor": 1999, "discount_minor": 0, "shipping_minor": 499,
                "total_minor": 2498, "currency": "EUR", "promo_codes": [], "campaign_ids": []}))
        elif i % 2:
            out.append(Event(type="product_view", source="analytics", occurred_at=at, data={
                **session, "product_id": f"P{i % 997}", "sku": f"S{i % 997}",
                "category": "Home", "source": "search"}))
        else:
            out.append(Event(type="page_view", source="analytics", occurred_at=at, data={
                **session, "path": "/", "referrer": None, "campaign_id": None}))
    return out


def bench_writer(root: Path, n: int = 200_000, batch: int = 20_000) -> dict:
    events = _writer_events(n)
    writer = LakeWriter(root)
    started = time.perf_counter()
    for i in range(0, n, batch):
        writer.add(events[i : i + batch])
        writer.flush()
    seconds = time.perf_counter() - started
    return {"events": n, "batch": batch, "seconds": round(seconds, 3),
            "events_per_s": round(n / seconds), "target_events_per_s": 50_000,
            "meets_target": n / seconds >= 50_000, "files": writer.stats.files_written}


def raw_aggregate(lake: Path) -> tuple[float, int]:
    """The baseline: one DuckDB pass over every Parquet file of the lake."""
    _, base = open_lake(lake)
    con = duckdb.connect()
    started = time.perf_counter()
    rows = con.sql(
        f"SELECT event_type, \"date\", count(*) AS events, count(DISTINCT event_id) AS ids "
        f"FROM read_parquet('{base}/*/date=*/*.parquet', hive_partitioning = true, "
        f"union_by_name = true) GROUP BY ALL"
    ).fetchall()
    seconds = time.perf_counter() - started
    con.close()
    return seconds, len(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="where to put the lake and warehouse (default: a temp dir)")
    args = parser.parse_args()
    workdir = args.workdir or Path(tempfile.mkdtemp(prefix="bench-warehouse-"))
    lake, wh_dir = workdir / "lake", workdir / "warehouse"
    shutil.rmtree(lake, ignore_errors=True)
    shutil.rmtree(wh_dir, ignore_errors=True)
    result: dict = {"machine": {"cpus": __import__("os").cpu_count(),
                                "python": platform.python_version(),
                                "duckdb": duckdb.__version__}}

    print("lake writer ...", flush=True)
    result["lake_writer"] = bench_writer(workdir / "writer-lake")
    print(f"  {result['lake_writer']['events_per_s']:,} events/s", flush=True)
    shutil.rmtree(workdir / "writer-lake", ignore_errors=True)

    print(f"simulating {args.events:,} events ...", flush=True)
    sim = simulate_bulk(lake, events=args.events, seed=args.seed, days=args.days, start=START)
    result["simulate"] = {"events": sim.events, "files": sim.files,
                          "seconds": round(sim.seconds, 2),
                          "events_per_s": round(sim.events / sim.seconds)}
    print(f"  {sim.events:,} events in {sim.seconds:.1f}s", flush=True)

    raw_s, groups = raw_aggregate(lake)  # warm the page cache once, then measure
    raw_s, groups = raw_aggregate(lake)
    n_marts = sum(1 for m in load_models().values() if m.layer == "marts")
    print(f"raw aggregate {raw_s:.2f}s; full build ...", flush=True)
    warehouse = Warehouse(wh_dir, lake)
    full = warehouse.refresh(full=True)
    budget = 1.5 * raw_s * n_marts
    result["full_build"] = {
        "events": sim.events, "seconds": round(full.seconds, 2),
        "raw_aggregate_seconds": round(raw_s, 3), "raw_groups": groups, "marts": n_marts,
        "ratio_to_raw_x_marts": round(full.seconds / (raw_s * n_marts), 3),
        "target_ratio": 1.5, "meets_target": full.seconds <= budget,
        "models": {r.model: {"rows": r.row_count, "seconds": round(r.seconds, 3)}
                   for r in full.results},
    }
    print(f"  full build {full.seconds:.1f}s (budget {budget:.1f}s)", flush=True)

    last_day = max(p.day for p in list_partitions(lake))
    hour_events = max(1000, sim.events // (args.days * 24))
    simulate_bulk(lake, events=hour_events, seed=args.seed + 1, days=1, start=last_day)
    started = time.perf_counter()
    inc = warehouse.refresh()
    inc_s = time.perf_counter() - started
    result["incremental_refresh"] = {
        "new_events": hour_events, "seconds": round(inc_s, 2), "target_seconds": 10,
        "meets_target": inc_s < 10,
        "staging_days_reloaded": {r.model: len(r.days_loaded) for r in inc.results
                                  if r.model.startswith("staging.")},
    }
    print(f"  incremental refresh of {hour_events:,} new events: {inc_s:.2f}s", flush=True)

    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(result, indent=2, default=str) + "\n")
    print(json.dumps({k: {kk: vv for kk, vv in v.items() if kk != "models"}
                      for k, v in result.items()}, indent=2, default=str))
    if args.workdir is None:
        shutil.rmtree(workdir, ignore_errors=True)


if __name__ == "__main__":
    main()
