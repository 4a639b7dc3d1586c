"""HTTP routes of the catalog service: thin handlers over `Catalog`, `Reviews` and `Browse`.

Reads are public (the gateway caches them); writes need the admin role, except reviews and
helpful votes, which any signed-in user may write (the service checks ownership).
"""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, Response, UploadFile, status

from services.catalog.browse import Browse
from services.catalog.reviews import Reviews
from services.catalog.schemas import (
    AutocompleteResponse,
    CategoryCreate,
    CategoryList,
    CategoryPublic,
    CategoryUpdate,
    HelpfulVote,
    Moderation,
    PhotoPublic,
    PhotoUpdate,
    ProductCreate,
    ProductPublic,
    ProductUpdate,
    ReviewCreate,
    ReviewList,
    ReviewPublic,
    ReviewUpdate,
    SearchParams,
    SearchResponse,
    SuggestionResponse,
)
from services.catalog.service import Catalog
from services.platform.auth import AdminUser, CurrentUser


async def get_catalog(request: Request) -> Catalog:
    return request.app.state.catalog


async def get_reviews(request: Request) -> Reviews:
    return request.app.state.reviews


async def get_browse(request: Request) -> Browse:
    return request.app.state.browse


CatalogDep = Annotated[Catalog, Depends(get_catalog)]
ReviewsDep = Annotated[Reviews, Depends(get_reviews)]
BrowseDep = Annotated[Browse, Depends(get_browse)]
Params = Annotated[SearchParams, Query()]
ProductId = Annotated[int, Path(ge=1, le=2**31 - 1)]
PhotoId = Annotated[int, Path(ge=1, le=2**31 - 1)]
Offset = Annotated[int, Query(ge=0, le=100_000)]
Limit = Annotated[int, Query(ge=1, le=100)]

router = APIRouter(prefix="/api/catalog", tags=["catalog"])


# --- search and browse ------------------------------------------------------------------------

@router.get("/search", response_model=SearchResponse)
async def search(params: Params, browse: BrowseDep) -> SearchResponse:
    """Full-text search with filters, facets, sort, highlights; a relaxed query when none match."""
    # CPU-bound (the index is memory-mapped, nothing to wait for), so it runs on the event loop:
    # at 16 connections a thread hand-off per search cost 1-3.5 ms more CPU per query (GIL
    # hand-offs between the loop and the workers) and 15-35% of the throughput.
    return browse.search(params)


@router.get("/products", response_model=SearchResponse)
async def browse_products(params: Params, browse: BrowseDep) -> SearchResponse:
    """Browse (same parameters as search; without `q` the order defaults to popularity)."""
    return browse.search(params)  # on the event loop, as `search`


@router.get("/autocomplete", response_model=AutocompleteResponse)
def autocomplete(
    browse: BrowseDep, q: Annotated[str, Query(max_length=100)] = "",
    n: Annotated[int, Query(ge=1, le=20)] = 8,
) -> AutocompleteResponse:
    """Product titles for what has been typed so far."""
    return browse.autocomplete(q, n)


@router.get("/suggest", response_model=SuggestionResponse)
def suggest(params: Params, browse: BrowseDep) -> SuggestionResponse:
    """A looser query that matches (spelling fixed, unmatched words dropped)."""
    return browse.suggestion(params)


# --- categories -------------------------------------------------------------------------------

@router.get("/categories", response_model=CategoryList)
def list_categories(catalog: CatalogDep) -> CategoryList:
    items = catalog.categories()
    return CategoryList(items=items, total=len(items))


@router.post("/categories", status_code=status.HTTP_201_CREATED, response_model=CategoryPublic)
def create_category(body: CategoryCreate, admin: AdminUser, catalog: CatalogDep) -> CategoryPublic:
    return catalog.create_category(body)


@router.get("/categories/{path:path}", response_model=CategoryPublic)
def read_category(path: str, catalog: CatalogDep) -> CategoryPublic:
    return catalog.category(path)


@router.patch("/categories/{path:path}", response_model=CategoryPublic)
def update_category(path: str, body: CategoryUpdate, admin: AdminUser,
                    catalog: CatalogDep) -> CategoryPublic:
    return catalog.update_category(path, body)


@router.delete("/categories/{path:path}", status_code=status.HTTP_204_NO_CONTENT)
def delete_category(path: str, admin: AdminUser, catalog: CatalogDep) -> None:
    catalog.delete_category(path)


# --- products and photos ----------------------------------------------------------------------

@router.post("/products", status_code=status.HTTP_201_CREATED, response_model=ProductPublic)
def create_product(body: ProductCreate, admin: AdminUser, catalog: CatalogDep) -> ProductPublic:
    return catalog.create_product(body)


@router.get("/products/{product_id}", response_model=ProductPublic)
def read_product(product_id: ProductId, catalog: CatalogDep) -> ProductPublic:
    """Product detail with photos, rating and stock status (from inventory events)."""
    return catalog.product(product_id)


@router.patch("/products/{product_id}", response_model=ProductPublic)
def update_product(product_id: ProductId, body: ProductUpdate, admin: AdminUser,
                   catalog: CatalogDep) -> ProductPublic:
    return catalog.update_product(product_id, body)


@router.delete("/products/{product_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_product(product_id: ProductId, admin: AdminUser, catalog: CatalogDep) -> None:
    catalog.delete_product(product_id)


@router.post("/products/{product_id}/photos", status_code=status.HTTP_201_CREATED,
             response_model=PhotoPublic)
def upload_photo(
    product_id: ProductId, file: Annotated[UploadFile, File(description="JPEG, PNG or WebP")],
    admin: AdminUser, catalog: CatalogDep,
    alt_text: Annotated[str, Form(max_length=300)] = "",
) -> PhotoPublic:
    """Checked by content (not name or declared type), re-encoded, thumbnailed."""
    data = file.file.read(catalog.settings.photo_max_bytes + 1)
    return catalog.add_photo(product_id, data, alt_text)


@router.patch("/products/{product_id}/photos/{photo_id}", response_model=PhotoPublic)
def update_photo(product_id: ProductId, photo_id: PhotoId, body: PhotoUpdate, admin: AdminUser,
                 catalog: CatalogDep) -> PhotoPublic:
    return catalog.update_photo(product_id, photo_id, body)


@router.delete("/products/{product_id}/photos/{photo_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_photo(product_id: ProductId, photo_id: PhotoId, admin: AdminUser, catalog: CatalogDep) -> None:
    catalog.delete_photo(product_id, photo_id)


# --- reviews ----------------------------------------------------------------------------------

@router.get("/products/{product_id}/reviews", response_model=ReviewList)
def list_reviews(
    product_id: ProductId, reviews: ReviewsDep, offset: Offset = 0, limit: Limit = 20,
    order: Literal["helpful", "newest", "rating_desc", "rating_asc"] = "helpful",
) -> ReviewList:
    items, total = reviews.list_for_product(product_id, order=order, offset=offset, limit=limit)
    return ReviewList(items=[ReviewPublic.model_validate(r) for r in items], total=total)


@router.post("/products/{product_id}/reviews", status_code=status.HTTP_201_CREATED,
             response_model=ReviewPublic)
def submit_review(product_id: ProductId, body: ReviewCreate, user: CurrentUser,
                  reviews: ReviewsDep) -> ReviewPublic:
    """One review per user per product; edit it with PATCH."""
    return ReviewPublic.model_validate(reviews.submit(product_id, user, body))


@router.get("/reviews/hidden", response_model=ReviewList)
def hidden_reviews(admin: AdminUser, reviews: ReviewsDep, response: Response,
                   offset: Offset = 0, limit: Limit = 50) -> ReviewList:
    """The moderation list (admins only, never cached)."""
    response.headers["Cache-Control"] = "private, no-store"
    items, total = reviews.hidden(offset=offset, limit=limit)
    return ReviewList(items=[ReviewPublic.model_validate(r) for r in items], total=total)


@router.patch("/reviews/{review_id}", response_model=ReviewPublic)
def edit_review(review_id: str, body: ReviewUpdate, user: CurrentUser,
                reviews: ReviewsDep) -> ReviewPublic:
    return ReviewPublic.model_validate(reviews.edit(review_id, user, body))


@router.delete("/reviews/{review_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_review(review_id: str, user: CurrentUser, reviews: ReviewsDep) -> None:
    """The author or an admin may delete a review."""
    reviews.delete(review_id, user)


@router.put("/reviews/{review_id}/helpful", response_model=HelpfulVote)
def vote_helpful(review_id: str, user: CurrentUser, reviews: ReviewsDep) -> HelpfulVote:
    """One vote per user; repeating it changes nothing."""
    count, voted = reviews.vote(review_id, user, helpful=True)
    return HelpfulVote(review_id=review_id, helpful_count=count, voted=voted)


@router.delete("/reviews/{review_id}/helpful", response_model=HelpfulVote)
def withdraw_helpful(review_id: str, user: CurrentUser, reviews: ReviewsDep) -> HelpfulVote:
    count, voted = reviews.vote(review_id, user, helpful=False)
    return HelpfulVote(review_id=review_id, helpful_count=count, voted=voted)


@router.post("/reviews/{review_id}/hide", response_model=ReviewPublic)
def hide_review(review_id: str, admin: AdminUser, reviews: ReviewsDep,
                body: Moderation | None = None) -> ReviewPublic:
    """Hidden reviews leave the product page and the rating until restored."""
    return ReviewPublic.model_validate(
        reviews.moderate(review_id, hidden=True, note=body.note if body else None))


@router.post("/reviews/{review_id}/restore", response_model=ReviewPublic)
def restore_review(review_id: str, admin: AdminUser, reviews: ReviewsDep,
                   body: Moderation | None = None) -> ReviewPublic:
    return ReviewPublic.model_validate(
        reviews.moderate(review_id, hidden=False, note=body.note if body else None))
