"""The product document: what the index stores about a product, built from plain catalog dicts.

One model serves both engines, the catalog service and the demo loaders, so a field added here
is added everywhere. Money stays in integer minor units (DESIGN: never floats).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, computed_field, field_validator

SLUG_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*$")
AttributeValue = str | int | float | bool | list[str]


def category_label(slug: str) -> str:
    """Human label for a category slug ("mens-shirts" -> "Mens Shirts")."""
    return slug.replace("-", " ").title()


def category_paths(path: list[str]) -> list[str]:
    """Every ancestor key of a category path, root first: a filter on one of them is a subtree."""
    return ["/".join(path[: i + 1]) for i in range(len(path))]


def rating_popularity(rating_avg: float, rating_count: int) -> float:
    """Popularity stand-in until the warehouse publishes real signals: well-rated and much-rated."""
    return round(rating_count * rating_avg / 5.0, 4)


class ProductDocument(BaseModel):
    """A product as the search index sees it (denormalised, read-optimised)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    id: int = Field(gt=0)
    sku: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=1, max_length=300)
    description: str = Field(default="", max_length=10_000)
    brand: str | None = Field(default=None, max_length=100)
    category_path: list[str] = Field(min_length=1, max_length=8)
    tags: list[str] = Field(default_factory=list)
    attributes: dict[str, AttributeValue] = Field(default_factory=dict)
    price_minor: int = Field(ge=0)
    currency: str = Field(default="USD", pattern=r"^[A-Z]{3}$")
    rating_avg: float = Field(default=0.0, ge=0.0, le=5.0)
    rating_count: int = Field(default=0, ge=0)
    popularity: float = Field(default=0.0, ge=0.0)
    stock: int = Field(default=0, ge=0)
    in_stock: bool = False
    created_at: datetime
    photo_url: str | None = None
    thumbnail_url: str | None = None

    @field_validator("category_path")
    @classmethod
    def _slugs(cls, path: list[str]) -> list[str]:
        for part in path:
            if not SLUG_RE.match(part):
                raise ValueError(f"category slug {part!r} must be lowercase words joined by '-'")
        return path

    @field_validator("created_at")
    @classmethod
    def _aware(cls, value: datetime) -> datetime:
        return value if value.tzinfo else value.replace(tzinfo=UTC)

    @computed_field  # type: ignore[prop-decorator]
    @property
    def category(self) -> str:
        """The leaf category slug."""
        return self.category_path[-1]

    @property
    def category_key(self) -> str:
        """The leaf's full path key ("fashion/mens-shirts"), as used by filters and facets."""
        return "/".join(self.category_path)


def build_document(product: Mapping[str, Any]) -> ProductDocument:
    """Build a document from a plain product dict (catalog row, demo loader or generator).

    Accepts `category_path` (list) or `category` ("root/leaf"); derives `in_stock` from `stock`
    and `popularity` from ratings when they are absent.
    """
    data = dict(product)
    if "category_path" not in data:
        data["category_path"] = [p for p in str(data.pop("category", "")).split("/") if p]
    data.pop("category", None)
    data.setdefault("in_stock", int(data.get("stock") or 0) > 0)
    if data.get("popularity") is None:
        data["popularity"] = rating_popularity(
            float(data.get("rating_avg") or 0.0), int(data.get("rating_count") or 0)
        )
    return ProductDocument.model_validate(data)
