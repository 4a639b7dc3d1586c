"""What a search returns, identical for every backend (the contract tests compare them)."""

from __future__ import annotations

from pydantic import BaseModel, Field

from search.documents import ProductDocument


class Hit(BaseModel):
    id: int
    score: float | None = Field(description="engine score; None when sorted by a field")
    document: ProductDocument
    highlights: dict[str, str] = Field(
        default_factory=dict, description="field -> HTML-escaped snippet with <b> marks"
    )


class FacetBucket(BaseModel):
    key: str
    label: str
    count: int
    gte: float | None = None
    lt: float | None = None


class RelaxedSuggestion(BaseModel):
    """A looser query offered when the shopper's query matched nothing."""

    q: str
    total: int


class SearchResult(BaseModel):
    hits: list[Hit]
    total: int
    page: int
    size: int
    facets: dict[str, list[FacetBucket]] = Field(default_factory=dict)
    suggestion: RelaxedSuggestion | None = None
