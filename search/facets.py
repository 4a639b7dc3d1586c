"""Facet requests and results. Both engines speak Elasticsearch-style aggregations (tantivy's
aggregation JSON is compatible), so one request builder and one parser serve both."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from search.documents import category_label
from search.query import Facet
from search.ranking import RATING_FLOORS, price_bucket_label, price_ranges
from search.results import FacetBucket

BRAND_FACET_SIZE = 50
CATEGORY_FACET_SIZE = 500


def aggregation_spec(facets: list[Facet], fields: Mapping[Facet, str]) -> dict[str, Any]:
    """The aggregation request for `facets`; `fields` names each facet's engine field."""
    spec: dict[str, Any] = {}
    for facet in facets:
        field = fields[facet]
        if facet is Facet.brand:
            spec["brand"] = {"terms": {"field": field, "size": BRAND_FACET_SIZE}}
        elif facet is Facet.category:
            spec["category"] = {"terms": {"field": field, "size": CATEGORY_FACET_SIZE}}
        elif facet is Facet.price:
            spec["price"] = {"range": {"field": field, "ranges": [
                {"from": lo} if hi is None else {"from": lo, "to": hi}
                for lo, hi in price_ranges()
            ]}}
        elif facet is Facet.rating:
            floors = sorted(RATING_FLOORS)
            spec["rating"] = {"range": {"field": field, "ranges": [
                {"from": float(lo)} if i + 1 == len(floors)
                else {"from": float(lo), "to": float(floors[i + 1])}
                for i, lo in enumerate(floors)
            ]}}
    return spec


def _count(bucket: Mapping[str, Any]) -> int:
    return int(bucket.get("doc_count", 0))


def parse_facets(raw: Mapping[str, Any], facets: list[Facet]) -> dict[str, list[FacetBucket]]:
    """Aggregation response -> buckets. Term buckets with no hits are left out; price and
    rating buckets are always listed (a UI shows the full scale, greyed out when empty)."""
    out: dict[str, list[FacetBucket]] = {}
    for facet in facets:
        buckets = raw.get(facet.value, {}).get("buckets", [])
        if facet in (Facet.brand, Facet.category):  # engines break count ties differently
            buckets = sorted(buckets, key=lambda b: (-_count(b), str(b["key"])))
        if facet is Facet.brand:
            items = [FacetBucket(key=b["key"], label=b["key"], count=_count(b)) for b in buckets]
        elif facet is Facet.category:
            items = [
                FacetBucket(key=b["key"], label=category_label(b["key"].rsplit("/", 1)[-1]),
                            count=_count(b))
                for b in buckets
            ]
        elif facet is Facet.price:
            counts = {int(b.get("from", 0)): _count(b) for b in buckets}
            items = [
                FacetBucket(key=price_bucket_label(lo, hi), label=price_bucket_label(lo, hi),
                            count=counts.get(lo, 0), gte=lo,
                            lt=None if hi is None else float(hi))
                for lo, hi in price_ranges()
            ]
        else:  # rating: cumulative "N and up"
            counts = {int(b.get("from", 0)): _count(b) for b in buckets}
            items = []
            for floor in sorted(RATING_FLOORS, reverse=True):
                n = sum(c for lo, c in counts.items() if lo >= floor)
                items.append(FacetBucket(key=f"{floor}+", label=f"{floor} stars & up",
                                         count=n, gte=float(floor)))
        out[facet.value] = [b for b in items if b.count > 0 or facet in (Facet.price,
                                                                           Facet.rating)]
    return out

