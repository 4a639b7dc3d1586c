"""Bulk event generator: a deterministic, realistic lake for benchmarks and demos.

Everything is generated column-wise with numpy and polars (no Python loop per event), then
written straight into the lake with the same schemas and atomic files as the lake writer, so
10 million events take a few minutes. The same seed and start date give the same events.

The story: shoppers (a Zipf share of them come back often) browse in sessions, some landing
from campaigns; they search (some queries find nothing), view products (a few products gain
popularity over the period), add to cart, check out with or without promo codes, pay with one
of the methods; some payments fail, some orders are cancelled, refunded, delivered; carts left
behind are abandoned. Half a percent of events arrive late (ingested a day or more after they
happened). Anonymous sessions of a shopper's device are stitched to the shopper later.
"""

from __future__ import annotations

import hashlib
import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from services.payments.events import PAYMENT_METHODS
from warehouse.lake import open_lake, write_partition
from warehouse.schema import lake_schema, load_contracts

log = logging.getLogger(__name__)

EVENTS_PER_SESSION = 9.6
"""Average events a session produces with the rates below (measured), to size the run."""

CATEGORIES = {
    "Home": ["Kitchen", "Bath", "Decor"],
    "Sports": ["Shoes", "Fitness", "Outdoor"],
    "Electronics": ["Audio", "Phones", "Cameras"],
    "Fashion": ["Women", "Men", "Kids"],
    "Books": ["Fiction", "Cooking", "Travel"],
    "Toys": ["Games", "Puzzles", "Outdoor"],
}
BRANDS = ["Acme", "Zoom", "Northwind", "Contoso", "Globex", "Initech", "Umbrella", "Hooli"]
NOUNS = ["knife", "shoes", "headphones", "jacket", "novel", "puzzle", "lamp", "mat",
         "camera", "phone case", "towel", "backpack", "speaker", "dress", "board game"]
ADJECTIVES = ["red", "black", "wireless", "running", "kids", "leather", "cheap", "organic",
              "large", "vintage"]
MISSPELLED = ["hedphones", "jakcet", "runing shoes", "camra", "bakpack", "speeker", "puzle",
              "nvel", "lamb shade", "yoga matt"]


@dataclass
class SimulationResult:
    events: int
    files: int
    seconds: float
    by_type: dict[str, int] = field(default_factory=dict)


def _zipf_weights(n: int, s: float) -> np.ndarray:
    w = 1.0 / np.arange(1, n + 1) ** s
    return w / w.sum()


def _choice(rng: np.random.Generator, n: int, weights: np.ndarray, size: int) -> np.ndarray:
    """Weighted sampling by inverse CDF (much faster than rng.choice with p for big sizes)."""
    cdf = np.cumsum(weights)
    return np.minimum(np.searchsorted(cdf, rng.random(size) * cdf[-1]), n - 1)


def _ids(prefix: str, idx: np.ndarray) -> pl.Series:
    return pl.select(pl.lit(prefix) + pl.Series(idx).cast(pl.String)).to_series()


def _series(name: str, values: object) -> pl.Series:
    """Column from numpy/list/Series; object arrays (values with None) become typed nullables."""
    if isinstance(values, pl.Series):
        return values.alias(name)
    if isinstance(values, np.ndarray) and values.dtype == object:
        return pl.Series(name, values.tolist(), strict=False)
    return pl.Series(name, values)


class _Builder:
    """Collects one polars frame per event type with the envelope filled in."""

    def __init__(self, seed: int, rng: np.random.Generator, now: datetime):
        self.seed, self.rng, self.now = seed, rng, now
        self.frames: dict[str, list[pl.DataFrame]] = {}

    def add(self, event_type: str, source: str, ts: np.ndarray, columns: dict) -> None:
        n = len(ts)
        if n == 0:
            return
        late = self.rng.random(n) < 0.005
        delay = np.where(late, self.rng.integers(86_400, 3 * 86_400, n), 5)
        ingested = np.maximum(ts + delay, 0)
        count = sum(len(f) for f in self.frames.get(event_type, []))
        frame = pl.DataFrame(
            {
                "event_id": _ids(f"sim{self.seed}-{event_type}-", np.arange(count, count + n)),
                "event_type": pl.Series([event_type]).new_from_index(0, n),
                "event_version": pl.Series([1], dtype=pl.Int32).new_from_index(0, n),
                "occurred_at": pl.Series(ts * 1_000_000).cast(pl.Datetime("us", "UTC")),
                "ingested_at": pl.Series(ingested * 1_000_000).cast(pl.Datetime("us", "UTC")),
                "source": pl.Series([source]).new_from_index(0, n),
                "subject": pl.Series([None], dtype=pl.String).new_from_index(0, n),
                **{k: _series(k, v) for k, v in columns.items()},
            }
        )
        self.frames.setdefault(event_type, []).append(frame)


def simulate_bulk(
    lake_root: str | Path,
    *,
    events: int = 1_000_000,
    seed: int = 7,
    days: int = 60,
    start: date | None = None,
    currency: str = "EUR",
) -> SimulationResult:
    """Generate about `events` events over `days` days from `start` and write them to the lake."""
    load_contracts()
    started = time.perf_counter()
    rng = np.random.default_rng(seed)
    start = start or (datetime.now(UTC).date() - timedelta(days=days))
    t0 = int(datetime(start.year, start.month, start.day, tzinfo=UTC).timestamp())
    span = days * 86_400
    builder = _Builder(seed, rng, datetime.now(UTC))

    n_sessions = max(20, int(events / EVENTS_PER_SESSION))
    n_products = int(np.clip(n_sessions // 50, 30, 20_000))
    n_shoppers = max(10, n_sessions // 4)
    n_campaigns = 8

    # --- catalog ---------------------------------------------------------------------------
    cats = list(CATEGORIES)
    top = rng.integers(0, len(cats), n_products)
    sub = rng.integers(0, 3, n_products)
    product_ids = np.array([f"P{i:06d}" for i in range(n_products)])
    skus = np.array([f"SKU{i:06d}" for i in range(n_products)])
    prices = (np.exp(rng.normal(8.0, 0.8, n_products)) // 100 * 100 + 99).astype(np.int64)
    paths = [[cats[t], CATEGORIES[cats[t]][s]] for t, s in zip(top, sub, strict=True)]
    titles = [f"{BRANDS[i % len(BRANDS)]} {NOUNS[i % len(NOUNS)]} {i}" for i in range(n_products)]
    brands = [BRANDS[i % len(BRANDS)] for i in range(n_products)]
    category = np.array([cats[t] for t in top])
    product_cols = {
        "product_id": product_ids, "sku": skus, "title": titles, "brand": brands,
        "category_path": pl.Series("category_path", paths, dtype=pl.List(pl.String)),
        "price_minor": prices, "currency": np.full(n_products, currency),
    }
    builder.add("catalog.product_created", "catalog",
                np.full(n_products, t0 - 86_400 * 7), product_cols)
    upd = np.flatnonzero(rng.random(n_products) < 0.05)
    new_prices = (prices[upd] * rng.uniform(0.85, 1.1, len(upd))).astype(np.int64)
    builder.add("catalog.product_updated", "catalog", t0 + rng.integers(0, span, len(upd)), {
        "product_id": product_ids[upd], "sku": skus[upd],
        "title": [titles[i] for i in upd], "brand": [brands[i] for i in upd],
        "category_path": pl.Series([paths[i] for i in upd], dtype=pl.List(pl.String)),
        "price_minor": new_prices, "currency": np.full(len(upd), currency),
    })
    gone = np.flatnonzero(rng.random(n_products) < 0.01)
    builder.add("catalog.product_deleted", "catalog", t0 + span - rng.integers(1, 86_400, len(gone)),
                {"product_id": product_ids[gone], "sku": skus[gone]})

    # --- shoppers and sessions --------------------------------------------------------------
    registered = rng.random(n_shoppers) < 0.75
    user_ids = np.array([f"U{i:07d}" for i in range(n_shoppers)])
    devices = np.array([f"D{i:07d}" for i in range(n_shoppers)])
    reg_idx = np.flatnonzero(registered)
    builder.add("user.registered", "users", t0 - rng.integers(3600, 90 * 86_400, len(reg_idx)), {
        "user_id": user_ids[reg_idx],
        "email": np.char.add(user_ids[reg_idx].astype(str), "@example.com"),
        "full_name": np.full(len(reg_idx), None, dtype=object),
        "locale": np.full(len(reg_idx), "en"),
        "marketing_opt_in": rng.random(len(reg_idx)) < 0.4,
    })
    shopper = _choice(rng, n_shoppers, _zipf_weights(n_shoppers, 0.6), n_sessions)
    shopper = rng.permutation(n_shoppers)[shopper]  # heavy shoppers spread over all ids
    # more traffic on later days and in the evening
    day = np.floor(rng.beta(1.2, 1.0, n_sessions) * days).astype(np.int64)
    hour = np.clip(rng.normal(17, 4.5, n_sessions), 0, 23.99)
    s_start = t0 + day * 86_400 + (hour * 3600).astype(np.int64)
    s_dur = rng.integers(60, 40 * 60, n_sessions)
    logged_in = registered[shopper] & (rng.random(n_sessions) < 0.65)
    campaign = np.where(rng.random(n_sessions) < 0.15, rng.integers(0, n_campaigns, n_sessions), -1)
    session_ids = _ids(f"S{seed}-", np.arange(n_sessions))
    s_user = np.where(logged_in, user_ids[shopper], None)

    def expand(counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        idx = np.repeat(np.arange(n_sessions), counts)
        return idx, s_start[idx] + (rng.random(len(idx)) * s_dur[idx]).astype(np.int64)

    def behaviour(idx: np.ndarray) -> dict:
        return {"session_id": session_ids.gather(idx), "anonymous_id": devices[shopper[idx]],
                "user_id": s_user[idx]}

    campaign_ids = np.array([f"CMP{c:02d}" for c in range(n_campaigns)] + [None], dtype=object)
    pv_idx, pv_ts = expand(1 + rng.poisson(2.0, n_sessions))
    first = np.r_[True, pv_idx[1:] != pv_idx[:-1]]
    pv_paths = np.array(["/", "/sale", "/c/home", "/c/sports", "/c/electronics", "/cart",
                         "/account"])[rng.integers(0, 7, len(pv_idx))]
    pv_ts = np.where(first, s_start[pv_idx], pv_ts)  # the landing page opens the session
    builder.add("page_view", "analytics", pv_ts, {
        **behaviour(pv_idx), "path": np.where(first, "/", pv_paths),
        "referrer": np.full(len(pv_idx), None, dtype=object),
        "campaign_id": np.where(first, campaign_ids[campaign[pv_idx]], None),
    })

    # searches: a Zipf vocabulary, misspellings find nothing
    vocab = [f"{a} {n}" for a in ADJECTIVES for n in NOUNS] + NOUNS + MISSPELLED
    zero = np.array([q in MISSPELLED for q in vocab])
    q_idx, q_ts = expand(rng.poisson(1.2, n_sessions))
    q_pick = rng.permutation(len(vocab))[_choice(rng, len(vocab),
                                                 _zipf_weights(len(vocab), 1.0), len(q_idx))]
    results = np.where(zero[q_pick], 0, rng.integers(1, 300, len(q_idx)))
    clicked = (results > 0) & (rng.random(len(q_idx)) < 0.45)
    position = np.minimum(rng.geometric(0.35, len(q_idx)), np.maximum(results, 1))
    popularity = _zipf_weights(n_products, 1.05)
    builder.add("search", "analytics", q_ts, {
        **behaviour(q_idx), "query": np.array(vocab, dtype=object)[q_pick],
        "result_count": results, "clicked_position": np.where(clicked, position, None),
        "clicked_product_id": np.where(clicked, product_ids[_choice(
            rng, n_products, popularity, len(q_idx))], None),
    })

    # product views: popular products, plus a few trending ones taking off over the period
    v_idx, v_ts = expand(rng.poisson(3.5, n_sessions))
    trending = rng.choice(n_products, size=max(3, n_products // 50), replace=False)
    progress = (v_ts - t0) / span
    take_trend = rng.random(len(v_idx)) < 0.25 * progress**3
    v_prod = np.where(take_trend, trending[rng.integers(0, len(trending), len(v_idx))],
                      _choice(rng, n_products, popularity, len(v_idx)))
    builder.add("product_view", "analytics", v_ts, {
        **behaviour(v_idx), "product_id": product_ids[v_prod], "sku": skus[v_prod],
        "category": category[v_prod],
        "source": np.array(["search", "browse", "recommendation", "direct"])[
            rng.integers(0, 4, len(v_idx))],
    })

    # add to cart: from product views
    carted = rng.random(len(v_idx)) < 0.12
    c_idx, c_prod = v_idx[carted], v_prod[carted]
    c_ts, c_qty = v_ts[carted] + 20, 1 + (rng.random(carted.sum()) < 0.2).astype(np.int64)
    cart_ids = _ids(f"K{seed}-", c_idx)
    atc = {**behaviour(c_idx), "product_id": product_ids[c_prod], "sku": skus[c_prod],
           "quantity": c_qty, "unit_price_minor": prices[c_prod],
           "currency": np.full(len(c_idx), currency)}
    builder.add("add_to_cart", "analytics", c_ts, atc)
    builder.add("cart.item_added", "cart", c_ts + 1, {
        "cart_id": cart_ids, "session_id": atc["session_id"], "user_id": atc["user_id"],
        **{k: atc[k] for k in ("product_id", "sku", "quantity", "unit_price_minor", "currency")},
    })

    # checkout: registered shoppers check out about half of their carts
    carted_sessions = np.unique(c_idx)
    can_order = registered[shopper[carted_sessions]]
    ordering = carted_sessions[can_order & (rng.random(len(carted_sessions)) < 0.5)]
    abandoned = np.setdiff1d(carted_sessions, ordering)
    is_order_line = np.isin(c_idx, ordering)
    n_orders = len(ordering)
    promo_of_session = np.zeros(n_sessions, dtype=bool)
    promo_of_session[ordering] = (campaign[ordering] >= 0) & (rng.random(n_orders) < 0.6)
    l_sess, l_prod, l_qty = c_idx[is_order_line], c_prod[is_order_line], c_qty[is_order_line]
    lines = pl.DataFrame({
        "session": l_sess, "product_id": product_ids[l_prod], "sku": skus[l_prod],
        "category": category[l_prod], "quantity": l_qty, "unit_price_minor": prices[l_prod],
        "discount_minor": np.where(promo_of_session[l_sess], l_qty * prices[l_prod] // 10, 0),
    })
    per_order = (
        lines.group_by("session", maintain_order=True)
        .agg(
            lines=pl.struct("sku", "product_id", "category", "quantity", "unit_price_minor",
                            "discount_minor").struct.json_encode().str.join(","),
            subtotal=(pl.col("quantity") * pl.col("unit_price_minor")).sum(),
            discount=pl.col("discount_minor").sum(),
            items=pl.col("quantity").sum(),
        )
        .sort("session")
    )
    o_sess = per_order["session"].to_numpy()
    promo = promo_of_session[o_sess]
    subtotal, discount = per_order["subtotal"].to_numpy(), per_order["discount"].to_numpy()
    shipping = np.where(subtotal - discount >= 5000, 0, 499)
    total = subtotal - discount + shipping
    o_ts = s_start[o_sess] + s_dur[o_sess] + 60
    o_user = user_ids[shopper[o_sess]]
    order_ids = _ids(f"O{seed}-", o_sess)
    o_campaign = campaign_ids[campaign[o_sess]]
    codes = np.where(promo, np.char.add("SAVE-", np.where(campaign[o_sess] >= 0, campaign[o_sess],
                                                          0).astype(str)), None)
    n_orders = len(o_sess)
    o_sid = session_ids.gather(o_sess)
    cur = np.full(n_orders, currency)
    builder.add("order.placed", "orders", o_ts, {
        "order_id": order_ids, "user_id": o_user, "session_id": o_sid,
        "lines": ("[" + per_order["lines"] + "]"), "subtotal_minor": subtotal,
        "discount_minor": discount, "shipping_minor": shipping, "total_minor": total,
        "currency": cur,
        "promo_codes": pl.Series([[c] if c else [] for c in codes], dtype=pl.List(pl.String)),
        "campaign_ids": pl.Series([[c] if c else [] for c in o_campaign],
                                  dtype=pl.List(pl.String)),
    })
    kcart = _ids(f"K{seed}-", o_sess)
    builder.add("cart.checked_out", "cart", o_ts - 1, {
        "cart_id": kcart, "session_id": o_sid, "user_id": o_user, "order_id": order_ids,
        "item_count": per_order["items"].to_numpy(), "subtotal_minor": subtotal, "currency": cur,
    })
    pi = np.flatnonzero(promo)
    builder.add("cart.promo_code_applied", "cart", o_ts[pi] - 30, {
        "cart_id": kcart.gather(pi), "session_id": o_sid.gather(pi), "user_id": o_user[pi],
        "promo_code": codes[pi], "campaign_id": o_campaign[pi], "discount_minor": discount[pi],
        "currency": cur[pi],
    })
    ab_items = np.bincount(c_idx, weights=c_qty, minlength=n_sessions).astype(np.int64)
    ab_value = np.bincount(c_idx, weights=c_qty * prices[c_prod], minlength=n_sessions)
    builder.add("cart.abandoned", "cart", s_start[abandoned] + s_dur[abandoned] + 3600, {
        "cart_id": _ids(f"K{seed}-", abandoned), "session_id": session_ids.gather(abandoned),
        "user_id": s_user[abandoned], "item_count": ab_items[abandoned],
        "subtotal_minor": ab_value[abandoned].astype(np.int64),
        "currency": np.full(len(abandoned), currency),
        "campaign_id": campaign_ids[campaign[abandoned]],
    })

    # payments and what happens to orders afterwards
    method = np.array(PAYMENT_METHODS)[_choice(rng, len(PAYMENT_METHODS),
                                               np.array([0.6, 0.25, 0.1, 0.05]), n_orders)]
    pay_ids = _ids(f"PAY{seed}-", o_sess)
    failed = rng.random(n_orders) < 0.04
    paid = ~failed
    r = rng.random(n_orders)
    cancelled_after_pay = paid & (r < 0.02)
    partial_refund = paid & (r >= 0.02) & (r < 0.05)
    delivered = paid & ~cancelled_after_pay & (r >= 0.05) & (r < 0.95)

    def pay_cols(mask: np.ndarray, amount: np.ndarray) -> dict:
        return {"payment_id": pay_ids.filter(pl.Series(mask)), "order_id":
                order_ids.filter(pl.Series(mask)), "user_id": o_user[mask],
                "amount_minor": amount[mask], "currency": cur[mask], "method": method[mask]}

    builder.add("payment.failed", "payments", o_ts[failed] + 30,
                {**pay_cols(failed, total), "reason": np.full(failed.sum(), "declined")})
    builder.add("payment.captured", "payments", o_ts[paid] + 30, pay_cols(paid, total))
    builder.add("order.paid", "orders", o_ts[paid] + 31, {
        "order_id": order_ids.filter(pl.Series(paid)), "user_id": o_user[paid],
        "payment_id": pay_ids.filter(pl.Series(paid)), "amount_minor": total[paid],
        "currency": cur[paid]})
    cancel = failed | cancelled_after_pay
    builder.add("order.cancelled", "orders", o_ts[cancel] + 3600, {
        "order_id": order_ids.filter(pl.Series(cancel)), "user_id": o_user[cancel],
        "reason": np.where(failed[cancel], "payment_failed", "customer_request")})
    refunded = cancelled_after_pay | partial_refund
    refund_amount = np.where(cancelled_after_pay, total, total // 2)
    refund_ts = np.where(cancelled_after_pay, o_ts + 3700,
                         o_ts + rng.integers(3, 15, n_orders) * 86_400)
    builder.add("order.refunded", "orders", refund_ts[refunded], {
        "order_id": order_ids.filter(pl.Series(refunded)), "user_id": o_user[refunded],
        "amount_minor": refund_amount[refunded], "currency": cur[refunded],
        "reason": np.where(cancelled_after_pay[refunded], "cancelled", "returned")})
    builder.add("payment.refunded", "payments", refund_ts[refunded] + 5,
                pay_cols(refunded, refund_amount))
    builder.add("order.delivered", "orders",
                o_ts[delivered] + rng.integers(1, 6, delivered.sum()) * 86_400, {
                    "order_id": order_ids.filter(pl.Series(delivered)),
                    "user_id": o_user[delivered],
                    "carrier": np.array(["DHL", "UPS", "PostNL"])[
                        rng.integers(0, 3, delivered.sum())],
                    "tracking_number": np.full(delivered.sum(), None, dtype=object)})

    return _write(builder, lake_root, seed, started)


def _write(builder: _Builder, lake_root: str | Path, seed: int, started: float) -> SimulationResult:
    fs, base = open_lake(lake_root)
    result = SimulationResult(events=0, files=0, seconds=0.0)
    for event_type, frames in builder.frames.items():
        schema = lake_schema(event_type, 1)
        frame = pl.concat(frames, how="vertical_relaxed")
        frame = frame.with_columns(pl.col("occurred_at").dt.date().alias("_day"))
        for (day,), part in frame.partition_by("_day", as_dict=True, maintain_order=True).items():
            table = part.select(schema.names).to_arrow().cast(schema)
            digest = hashlib.sha256(f"{seed}/{event_type}/{day}/{len(part)}".encode())
            name = f"part-v1-sim{seed}-{digest.hexdigest()[:16]}.parquet"
            write_partition(fs, base, event_type, 1, day, table, name=name)
            result.files += 1
        result.by_type[event_type] = len(frame)
        result.events += len(frame)
        log.info("simulated %s: %d events", event_type, len(frame))
    result.seconds = time.perf_counter() - started
    return result
