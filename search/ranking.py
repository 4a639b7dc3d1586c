"""Ranking and faceting policy shared by both engines, so they rank and bucket the same way."""

from __future__ import annotations

import math

from search.documents import ProductDocument

# Field boosts: a word in the title says more about the product than one in its description.
FIELD_BOOSTS: dict[str, float] = {"title": 4.0, "brand": 3.0, "category": 2.0, "description": 1.0}
FUZZY_WEIGHT = 0.4  # a fuzzy match counts for less than the exact (stemmed) word
SYNONYM_WEIGHT = 0.8  # an expanded synonym counts for a little less than the shopper's own word
SKU_BOOST = 50.0

# Price buckets in minor units: [gte, lt); the last is open-ended.
PRICE_EDGES: list[int] = [0, 1_000, 2_500, 5_000, 10_000, 25_000, 50_000, 100_000]
# Rating buckets are cumulative ("4 and up"), the way shops offer a minimum-rating filter.
RATING_FLOORS: list[int] = [4, 3, 2, 1]
MAX_BOOST = 0.5


def fuzzy_distance(term: str) -> int:
    """Edit distance allowed for an analysed query term: 0 up to 3 letters, 1 up to 7, then 2.

    Measured on the stem (what is compared with the index), as OpenSearch's AUTO:4,8 does on
    analysed terms; "cancelling" -> "cancel" gets 1 edit, so it does not reach "candl"(e)."""
    n = len(term)
    if n <= 3:
        return 0
    return 1 if n <= 7 else 2


def minimum_should_match(groups: int) -> int:
    """How many query words must match: all up to two, one may be missing for 3-4, 75% beyond."""
    if groups <= 2:
        return groups
    if groups <= 4:
        return groups - 1
    return math.ceil(groups * 0.75)


def boost_signal(doc: ProductDocument) -> float:
    """Quality prior in [0, MAX_BOOST]: engines multiply relevance by log2(2 + boost).

    Bayesian-averaged rating (so one 5-star review is not "best") plus saturating popularity;
    at most a ~32% lift, enough to order near-ties without burying a better text match.
    """
    prior_mean, prior_weight = 3.0, 5.0
    rating = (doc.rating_avg * doc.rating_count + prior_mean * prior_weight) / (
        doc.rating_count + prior_weight
    )
    popularity = doc.popularity / (doc.popularity + 10.0)
    return round(MAX_BOOST * (0.5 * rating / 5.0 + 0.5 * popularity), 6)


def price_bucket_label(gte: int, lt: int | None) -> str:
    lo = f"{gte / 100:g}"
    return f"{lo}+" if lt is None else f"{lo}-{lt / 100:g}"


def price_ranges() -> list[tuple[int, int | None]]:
    edges = PRICE_EDGES
    return [(edges[i], edges[i + 1] if i + 1 < len(edges) else None) for i in range(len(edges))]


# Sort keys: one unsigned 64-bit number per sort, ascending, with the product id in the low 32
# bits, so every sort is a total order and pages never overlap or skip (stable pagination).
_ID_BITS = 32
_VALUE_MAX = (1 << 32) - 1


def _key(value: int, doc_id: int) -> int:
    return (max(0, min(value, _VALUE_MAX)) << _ID_BITS) | (doc_id & _VALUE_MAX)


def sort_keys(doc: ProductDocument) -> dict[str, int]:
    """The ascending sort key of every field sort for one document."""
    rating = round(doc.rating_avg * 100) << 22 | min(doc.rating_count, (1 << 22) - 1)
    popularity = min(round(doc.popularity * 1000), _VALUE_MAX)
    created = int(doc.created_at.timestamp())
    return {
        "price_asc": _key(doc.price_minor, doc.id),
        "price_desc": _key(_VALUE_MAX - min(doc.price_minor, _VALUE_MAX), doc.id),
        "rating": _key(_VALUE_MAX - min(rating, _VALUE_MAX), doc.id),
        "popularity": _key(_VALUE_MAX - popularity, doc.id),
        "newest": _key(_VALUE_MAX - max(0, created), doc.id),
    }
