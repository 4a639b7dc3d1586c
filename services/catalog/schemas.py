"""Request and response models of the catalog service (one family per entity).

Requests refuse unknown fields (and unknown query parameters), so a typo in a filter name is a
422 rather than a silently ignored filter.
"""

from __future__ import annotations

from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from search.query import MAX_QUERY_CHARS, Facet, SortOrder
from search.results import FacetBucket, RelaxedSuggestion
from services.catalog.domain import StockStatus
from services.platform.utc import UtcDatetime

Sku = Annotated[str, StringConstraints(strip_whitespace=True, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")]
Title = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=300)]
Description = Annotated[str, StringConstraints(max_length=10_000)]
Brand = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
Slug = Annotated[str, StringConstraints(pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*$", max_length=64)]
CategoryKey = Annotated[str, StringConstraints(
    strip_whitespace=True, max_length=600,
    pattern=r"^[a-z0-9]+(?:-[a-z0-9]+)*(?:/[a-z0-9]+(?:-[a-z0-9]+)*)*$")]
Currency = Annotated[str, StringConstraints(pattern=r"^[A-Z]{3}$")]
Name = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=100)]
AttributeValue = (Annotated[str, StringConstraints(max_length=500)] | int | float | bool
                  | list[Annotated[str, StringConstraints(max_length=100)]])
Attributes = Annotated[dict[Annotated[str, StringConstraints(min_length=1, max_length=50)],
                            AttributeValue], Field(max_length=50)]
Tags = Annotated[list[Annotated[str, StringConstraints(strip_whitespace=True, min_length=1,
                                                       max_length=50)]], Field(max_length=30)]




class Input(BaseModel):
    model_config = ConfigDict(extra="forbid")


# --- categories -------------------------------------------------------------------------------

class CategoryCreate(Input):
    name: Name
    slug: Slug | None = Field(None, description="derived from the name when absent")
    parent: CategoryKey | None = Field(None, description="path of the parent; absent: a root")
    description: Description = ""


class CategoryUpdate(Input):
    """Name and description only: a path is part of every product's search key and events."""

    name: Name | None = None
    description: Description | None = None


class CategoryPublic(BaseModel):
    id: int
    slug: str
    name: str
    path: str
    parent_path: str | None
    depth: int
    description: str
    product_count: int = Field(description="products in this category and all below it")


class CategoryList(BaseModel):
    items: list[CategoryPublic]
    total: int


class CategoryRef(BaseModel):
    path: str
    names: list[str] = Field(description="display names from the root down")


# --- products ---------------------------------------------------------------------------------

class ProductCreate(Input):
    sku: Sku
    title: Title
    description: Description = ""
    brand: Brand | None = None
    category: CategoryKey
    attributes: Attributes = Field(default_factory=dict)
    tags: Tags = Field(default_factory=list)
    price_minor: int = Field(ge=0, le=10**12)
    currency: Currency = "USD"


class ProductUpdate(Input):
    sku: Sku | None = None
    title: Title | None = None
    description: Description | None = None
    brand: Brand | None = None
    category: CategoryKey | None = None
    attributes: Attributes | None = None
    tags: Tags | None = None
    price_minor: int | None = Field(None, ge=0, le=10**12)
    currency: Currency | None = None


class PhotoPublic(BaseModel):
    id: int
    url: str
    thumbnail_url: str
    content_type: str
    width: int
    height: int
    size_bytes: int
    alt_text: str
    position: int


class PhotoUpdate(Input):
    alt_text: Annotated[str, StringConstraints(max_length=300)] | None = None
    position: int | None = Field(None, ge=0, le=1000)


class PhotoList(BaseModel):
    items: list[PhotoPublic]
    total: int


class Availability(BaseModel):
    status: StockStatus
    available: int | None
    as_of: UtcDatetime | None


class ProductPublic(BaseModel):
    id: int
    sku: str
    title: str
    description: str
    brand: str | None
    category: CategoryRef
    attributes: dict[str, AttributeValue]
    tags: list[str]
    price_minor: int
    currency: str
    rating_avg: float
    rating_count: int
    photos: list[PhotoPublic]
    availability: Availability
    created_at: UtcDatetime
    updated_at: UtcDatetime


# --- search and browse ------------------------------------------------------------------------

class SearchParams(BaseModel):
    """Query parameters of search and browse (unknown parameters are refused)."""

    model_config = ConfigDict(extra="forbid")

    q: str = Field("", max_length=MAX_QUERY_CHARS,
                   description="what the shopper typed (longer text is refused)")
    category: str | None = Field(None, max_length=600, description="category path; its subtree")
    brand: list[str] = Field(default_factory=list, max_length=50)
    price_min: int | None = Field(None, description="minor units, inclusive")
    price_max: int | None = Field(None, description="minor units, inclusive")
    min_rating: float | None = None
    in_stock: bool | None = None
    sort: SortOrder = SortOrder.relevance
    facets: list[Facet] = Field(default_factory=list, description="repeat or comma-separate")
    page: int = Field(1, ge=1)
    size: int = Field(20, ge=1)
    highlight: bool = False

    @field_validator("facets", "brand", mode="before")
    @classmethod
    def _split_commas(cls, value: object) -> object:
        if isinstance(value, str):
            value = [value]
        if isinstance(value, list) and all(isinstance(v, str) for v in value):
            return [part.strip() for v in value for part in v.split(",") if part.strip()]
        return value


class ProductHit(BaseModel):
    id: int
    sku: str
    title: str
    brand: str | None
    category_path: list[str]
    price_minor: int
    currency: str
    rating_avg: float
    rating_count: int
    in_stock: bool
    photo_url: str | None
    thumbnail_url: str | None
    score: float | None
    highlights: dict[str, str]


class SearchResponse(BaseModel):
    items: list[ProductHit]
    total: int
    page: int
    size: int
    pages: int
    facets: dict[str, list[FacetBucket]]
    suggestion: RelaxedSuggestion | None = Field(
        None, description="a looser query that matches, offered when this one matched nothing")


class AutocompleteResponse(BaseModel):
    q: str
    suggestions: list[str]


class SuggestionResponse(BaseModel):
    q: str
    suggestion: RelaxedSuggestion | None


# --- reviews ----------------------------------------------------------------------------------

ReviewText = Annotated[str, StringConstraints(strip_whitespace=True, max_length=5000)]
ReviewTitle = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1, max_length=200)]


class ReviewCreate(Input):
    rating: int = Field(ge=1, le=5)
    title: ReviewTitle | None = None
    body: ReviewText = ""
    reviewer_name: Name | None = Field(None, description="shown with the review; default: "
                                                         "the part of the email before '@'")


class ReviewUpdate(Input):
    rating: int | None = Field(None, ge=1, le=5)
    title: ReviewTitle | None = None
    body: ReviewText | None = None
    reviewer_name: Name | None = None


class Moderation(Input):
    note: Annotated[str, StringConstraints(max_length=500)] | None = None


class ReviewPublic(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: str
    product_id: int
    user_id: str
    reviewer_name: str
    rating: int
    title: str | None
    body: str
    verified_purchase: bool
    helpful_count: int
    hidden: bool
    created_at: UtcDatetime
    updated_at: UtcDatetime


class ReviewList(BaseModel):
    items: list[ReviewPublic]
    total: int


class HelpfulVote(BaseModel):
    review_id: str
    helpful_count: int
    voted: bool
