"""The search request model: everything a shopper can ask, validated before any engine sees it.

Unknown fields, sorts and facets, inverted price ranges, oversized pages and queries longer than
`MAX_QUERY_CHARS` are rejected here with a pydantic `ValidationError` (a `ValueError`), which the
service maps to 422. Query text is never parsed as engine syntax: backends tokenize it themselves.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

MAX_QUERY_CHARS = 512
MAX_PAGE_SIZE = 100
MAX_RESULT_WINDOW = 10_000  # deepest hit reachable by paging, as in OpenSearch's default
CATEGORY_KEY_RE = re.compile(r"^[a-z0-9]+(?:-[a-z0-9]+)*(?:/[a-z0-9]+(?:-[a-z0-9]+)*)*$")


class SortOrder(StrEnum):
    relevance = "relevance"
    price_asc = "price_asc"
    price_desc = "price_desc"
    rating = "rating"
    popularity = "popularity"
    newest = "newest"


class Facet(StrEnum):
    category = "category"
    brand = "brand"
    price = "price"
    rating = "rating"


class SearchFilters(BaseModel):
    """Filters narrow the hits without changing their scores."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str | None = Field(default=None, description="category key; matches its subtree")
    brands: list[str] = Field(default_factory=list, max_length=50)
    price_min: int | None = Field(default=None, ge=0, description="minor units, inclusive")
    price_max: int | None = Field(default=None, ge=0, description="minor units, inclusive")
    min_rating: float | None = Field(default=None, ge=0.0, le=5.0)
    in_stock: bool | None = Field(default=None, description="True: only in stock; None: any")

    @field_validator("category")
    @classmethod
    def _category_key(cls, value: str | None) -> str | None:
        if value is None or value == "":
            return None
        value = value.strip().strip("/").lower()
        if not CATEGORY_KEY_RE.match(value):
            raise ValueError("category must be a path of slugs like 'fashion/mens-shirts'")
        return value

    @field_validator("brands")
    @classmethod
    def _brands(cls, brands: list[str]) -> list[str]:
        cleaned = [b.strip() for b in brands if b.strip()]
        if any(len(b) > 100 for b in cleaned):
            raise ValueError("brand names are at most 100 characters")
        return cleaned

    @model_validator(mode="after")
    def _price_range(self) -> Self:
        lo, hi = self.price_min, self.price_max
        if lo is not None and hi is not None and lo > hi:
            raise ValueError("price_min must not exceed price_max")
        return self


class SearchQuery(BaseModel):
    """One search or browse request. Empty `q` browses (filters, facets and sorts still apply)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    q: str = Field(default="", max_length=MAX_QUERY_CHARS)
    filters: SearchFilters = Field(default_factory=SearchFilters)
    facets: list[Facet] = Field(default_factory=list)
    sort: SortOrder = SortOrder.relevance
    page: int = Field(default=1, ge=1)
    size: int = Field(default=20, ge=1, le=MAX_PAGE_SIZE)
    highlight: bool = False

    @field_validator("q")
    @classmethod
    def _normalise(cls, q: str) -> str:
        return " ".join(q.split())

    @field_validator("facets")
    @classmethod
    def _unique(cls, facets: list[Facet]) -> list[Facet]:
        return list(dict.fromkeys(facets))

    @model_validator(mode="after")
    def _window(self) -> Self:
        if self.page * self.size > MAX_RESULT_WINDOW:
            raise ValueError(f"page * size must not exceed {MAX_RESULT_WINDOW}")
        return self

    @property
    def offset(self) -> int:
        return (self.page - 1) * self.size
