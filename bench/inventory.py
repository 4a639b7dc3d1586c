"""Reservation throughput under contention: THREADS workers reserving one unit each on ONE hot SKU
vs the same workers each on its own SKU (uncontended), same run, through the service layer
(`Inventory.reserve`: conditional UPDATE, reservation rows, outbox events, one transaction each).
Runs on SQLite (one writer at a time: hot and cold should cost the same) and, when it answers,
on the PostgreSQL at POSTGRES_TEST_URL (row locks: the hot SKU serialises, the cold ones do not).

Run: python -m bench.inventory  ->  bench/results/inventory.json
"""

from __future__ import annotations

import json
import os
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, text
from tqdm import tqdm

from bench._http import RESULTS
from services.inventory.app import database
from services.inventory.schemas import AdjustmentCreate, LineIn, ReservationCreate
from services.inventory.service import Inventory
from services.inventory.settings import InventorySettings

THREADS = 8
PER_THREAD = 60
POSTGRES_URL = os.environ.get("POSTGRES_TEST_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test")


def run_case(inventory: Inventory, skus: list[str], label: str) -> dict[str, Any]:
    """Each worker reserves PER_THREAD times on `skus[worker % len(skus)]`."""
    total = THREADS * PER_THREAD
    bar = tqdm(total=total, desc=label, leave=False)

    def worker(w: int) -> int:
        ok = 0
        for _ in range(PER_THREAD):
            body = ReservationCreate(order_id=f"b-{uuid.uuid4().hex[:20]}",
                                     lines=[LineIn(sku=skus[w % len(skus)], quantity=1)])
            inventory.reserve(body, user_id="bench")
            ok += 1
            bar.update()
        return ok

    t0 = time.perf_counter()
    with ThreadPoolExecutor(THREADS) as pool:
        done = sum(pool.map(worker, range(THREADS)))
    elapsed = time.perf_counter() - t0
    bar.close()
    return {"reservations": done, "seconds": round(elapsed, 3), "per_second": round(done / elapsed, 1)}


def bench_database(url: str) -> dict[str, Any]:
    settings = InventorySettings(database_url=url)
    db = database(settings)
    db.migrate()
    inventory = Inventory(db=db, settings=settings)
    hot, cold = "HOT-1", [f"COLD-{i}" for i in range(THREADS)]
    for sku in [hot, *cold]:
        inventory.adjust(sku, AdjustmentCreate(delta=100_000, reason="bench stock"), actor="bench")
    run_case(inventory, cold, "warm-up")
    result = {"uncontended": run_case(inventory, cold, "uncontended"),
              "hot_sku": run_case(inventory, [hot], "hot SKU")}
    result["hot_vs_uncontended"] = round(result["hot_sku"]["per_second"]
                                         / result["uncontended"]["per_second"], 2)
    stock = inventory.stock(hot)
    assert stock.reserved == THREADS * PER_THREAD, "every reservation must be counted exactly once"
    db.dispose()
    return result


def postgres_schema() -> str | None:
    try:
        engine = create_engine(POSTGRES_URL, connect_args={"connect_timeout": 2})
        schema = f"bench_{uuid.uuid4().hex[:8]}"
        with engine.begin() as conn:
            conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        engine.dispose()
        return schema
    except Exception:
        return None


def drop_schema(schema: str) -> None:
    engine = create_engine(POSTGRES_URL)
    with engine.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    engine.dispose()


def main() -> None:
    report: dict[str, Any] = {"threads": THREADS, "per_thread": PER_THREAD,
                              "load_average_1m": round(os.getloadavg()[0], 2)}
    with tempfile.TemporaryDirectory() as tmp:
        report["sqlite"] = bench_database(f"sqlite:///{Path(tmp) / 'inventory.db'}")
    schema = postgres_schema()
    if schema is None:
        report["postgresql"] = "skipped: PostgreSQL did not answer"
    else:
        sep = "&" if "?" in POSTGRES_URL else "?"
        try:
            report["postgresql"] = bench_database(f"{POSTGRES_URL}{sep}options=-csearch_path%3D{schema}")
        finally:
            drop_schema(schema)
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "inventory.json").write_text(json.dumps(report, indent=2) + "\n")
    print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
