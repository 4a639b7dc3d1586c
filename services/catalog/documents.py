"""Catalog rows -> search documents, in chunks (shared by the indexer and the full reindex).

The index is always written from the catalog's own committed state, never from event payloads:
an event only says *which* product changed, so late or repeated events cannot index stale data.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from search.documents import ProductDocument, build_document
from services.catalog import domain
from services.catalog.photos import url_of
from services.catalog.store import Availability, Category, Photo, Product

CHUNK = 5_000


def _first_photos(session: Session, ids: list[int]) -> dict[int, Photo]:
    rows = session.scalars(select(Photo).where(Photo.product_id.in_(ids))
                           .order_by(Photo.product_id, Photo.position, Photo.id))
    first: dict[int, Photo] = {}
    for photo in rows:
        first.setdefault(photo.product_id, photo)
    return first


def _query() -> Any:
    return (select(Product, Category.path, Availability.available)
            .join(Category, Category.id == Product.category_id)
            .outerjoin(Availability, Availability.sku == Product.sku))


Popularity = Callable[[int], float | None]
"""Product id -> the warehouse's popularity, or None for the ratings stand-in."""


def no_signal(product_id: int) -> None:
    return None


def to_document(product: Product, path: str, available: int | None, photo: Photo | None,
                popularity: Popularity = no_signal) -> ProductDocument:
    """`popularity`: the warehouse's signal (`PopularitySignal.of`)."""
    stock = max(0, available or 0)
    rating = domain.Rating(product.rating_sum, product.rating_count)
    return build_document({
        "id": product.id, "sku": product.sku, "title": product.title,
        "description": (product.description or "")[:10_000], "brand": product.brand,
        "category_path": domain.path_slugs(path), "tags": list(product.tags or []),
        "attributes": domain.clean_attributes(product.attributes or {}),
        "price_minor": product.price_minor, "currency": product.currency,
        "rating_avg": rating.average, "rating_count": rating.count, "stock": stock,
        "in_stock": stock > 0, "created_at": product.created_at,
        "photo_url": url_of(photo.filename) if photo else None,
        "thumbnail_url": url_of(photo.thumbnail) if photo else None,
        "popularity": popularity(product.id),
    })


def documents_for(session: Session, ids: list[int],
                  popularity: Popularity = no_signal) -> list[ProductDocument]:
    """Documents of the given products that still exist (missing ids are simply absent)."""
    out: list[ProductDocument] = []
    for start in range(0, len(ids), CHUNK):
        chunk = ids[start:start + CHUNK]
        rows = session.execute(_query().where(Product.id.in_(chunk))).all()
        photos = _first_photos(session, chunk)
        out += [to_document(p, path, avail, photos.get(p.id), popularity) for p, path, avail in rows]
    return out


def all_documents(session: Session,
                  popularity: Popularity = no_signal) -> Iterator[ProductDocument]:
    """Every product, by id, in keyset-paginated chunks (constant memory for any catalog)."""
    after = 0
    while True:
        rows = session.execute(_query().where(Product.id > after).order_by(Product.id)
                               .limit(CHUNK)).all()
        if not rows:
            return
        photos = _first_photos(session, [p.id for p, _, _ in rows])
        for product, path, available in rows:
            yield to_document(product, path, available, photos.get(product.id), popularity)
        after = rows[-1][0].id
        session.expunge_all()
