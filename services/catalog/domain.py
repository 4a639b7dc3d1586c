"""Rules of the catalog as pure functions: keyword-only arguments, plain data in and out, no I/O."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum

from services.platform.utc import as_utc

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
MAX_CATEGORY_DEPTH = 8  # the search document's bound on a category path


class StockStatus(StrEnum):
    in_stock = "in_stock"
    low_stock = "low_stock"
    out_of_stock = "out_of_stock"
    unknown = "unknown"
    """No availability event seen yet for the SKU: neither promise nor deny stock."""


def slugify(text: str) -> str:
    """ASCII, lowercase words joined by '-' ("Women's Shoes" -> "womens-shoes")."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    folded = folded.replace("'", "")
    return "-".join(re.findall(r"[a-z0-9]+", folded))[:64]


def child_path(*, parent_path: str | None, slug: str) -> str:
    return f"{parent_path}/{slug}" if parent_path else slug


def path_slugs(path: str) -> list[str]:
    return [p for p in path.split("/") if p]


@dataclass(frozen=True)
class Rating:
    sum: int
    count: int

    @property
    def average(self) -> float:
        return round(self.sum / self.count, 2) if self.count else 0.0


def aggregate_rating(*, imported_sum: int, imported_count: int, visible: Iterable[int]) -> Rating:
    """The product's rating from scratch: imported baseline plus every visible review's stars.
    Recomputing (rather than adding deltas) makes edits, hides and deletes impossible to miscount."""
    stars = list(visible)
    return Rating(sum=imported_sum + sum(stars), count=imported_count + len(stars))


def imported_baseline(*, average: float, count: int) -> Rating:
    """A seeded product's rating (average, count) as whole-star sum and count."""
    count = max(0, int(count))
    return Rating(sum=round(max(0.0, min(5.0, average)) * count), count=count)


def stock_status(*, available: int | None, low_threshold: int) -> StockStatus:
    if available is None:
        return StockStatus.unknown
    if available <= 0:
        return StockStatus.out_of_stock
    return StockStatus.low_stock if available <= low_threshold else StockStatus.in_stock



def is_newer(*, current: datetime | None, incoming: datetime) -> bool:
    """Stock events may arrive out of order (retries, two relays): keep the latest fact only."""
    return current is None or as_utc(incoming) >= as_utc(current)


def subtree_counts(
    *, parents: Mapping[int, int | None], direct: Mapping[int, int]
) -> dict[int, int]:
    """Products per category including all descendants (a product counts in every ancestor)."""
    totals = dict.fromkeys(parents, 0)
    for category_id, n in direct.items():
        seen: set[int] = set()
        node: int | None = category_id
        while node is not None and node not in seen and node in totals:
            totals[node] += n
            seen.add(node)
            node = parents[node]
    return totals


def clean_attributes(attributes: Mapping[str, object]) -> dict[str, object]:
    """Attribute values the index can hold: scalars and lists of strings; None dropped."""
    out: dict[str, object] = {}
    for key, value in attributes.items():
        if value is None:
            continue
        if isinstance(value, list | tuple):
            out[key] = [str(v) for v in value]
        elif isinstance(value, str | int | float | bool):
            out[key] = value
        else:
            out[key] = str(value)
    return out
