"""`shop seed`: the demo catalog (DummyJSON's 194 products with their reviews, photos rendered
locally) or a deterministic generated catalog of any size (`--products N`), written in bulk.

Everything goes through the same tables and outbox as the admin API, in chunked multi-row
inserts (one round trip per few thousand rows), so 100k products take seconds, and the search
index is rebuilt from the database at the end. Re-running skips SKUs that already exist.

Reviewers are demo users with stable ids (uuid5 of their email); they have no accounts in the
users service. Seeded stock is written to `availability` as inventory's first report would be,
so "in stock" filters work before the inventory service has spoken (its events then win).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime
from itertools import islice
from typing import Any

from sqlalchemy import insert, select, update

from search.documents import category_label
from services.catalog import domain, events
from services.catalog.photos import PhotoFiles, process_upload, render_demo_photo
from services.catalog.settings import CatalogSettings
from services.catalog.store import OUTBOX, Availability, Category, Photo, Product, Review
from services.platform.db import Database
from services.platform.events import make_event

CHUNK = 5_000
DEMO_PHOTOS_PER_PRODUCT = 3
Progress = Callable[[str], None]


@dataclass
class SeedReport:
    products: int = 0
    skipped: int = 0
    categories: int = 0
    reviews: int = 0
    photos: int = 0
    timings: dict[str, float] = field(default_factory=dict)


def demo_user_id(email: str) -> str:
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"shop-demo-user:{email.lower()}"))


def _chunks(items: Iterable[dict[str, Any]], size: int) -> Iterator[list[dict[str, Any]]]:
    it = iter(items)
    while chunk := list(islice(it, size)):
        yield chunk


def ensure_categories(db: Database, paths: set[tuple[str, ...]]) -> tuple[dict[str, int], int]:
    """Create every category on the given slug paths (roots first); return path -> id."""
    created = 0
    with db.session() as session:
        ids = {c.path: c.id for c in session.scalars(select(Category))}
        wanted = sorted({"/".join(p[: i + 1]) for p in paths for i in range(len(p))},
                        key=lambda s: (s.count("/"), s))
        for path in wanted:
            if path in ids:
                continue
            parent, _, slug = path.rpartition("/")
            category = Category(slug=slug, path=path, name=category_label(slug),
                                parent_id=ids[parent] if parent else None, description="")
            session.add(category)
            session.flush()
            ids[path] = category.id
            created += 1
    return ids, created


def _row(p: dict[str, Any], category_id: int, now: datetime, currency: str) -> dict[str, Any]:
    reviews = p.get("reviews")
    baseline = domain.Rating(0, 0) if reviews is not None else domain.imported_baseline(
        average=float(p.get("rating_avg") or 0), count=int(p.get("rating_count") or 0))
    created = p.get("created_at") or now
    return {
        "sku": p["sku"], "title": p["title"][:300], "description": p.get("description") or "",
        "brand": p.get("brand"), "category_id": category_id,
        "attributes": domain.clean_attributes(p.get("attributes") or {}),
        "tags": list(p.get("tags") or []), "price_minor": int(p["price_minor"]),
        "currency": currency,  # demo prices are taken as the shop's own currency
        "rating_sum": baseline.sum, "rating_count": baseline.count,
        "imported_rating_sum": baseline.sum, "imported_rating_count": baseline.count,
        "created_at": created, "updated_at": p.get("updated_at") or created,
    }


def _outbox_row(data: events.EventData, subject: str) -> dict[str, Any]:
    event = make_event(data, source=events.SOURCE, subject=subject)
    return {"event_id": event.id, "event_type": event.type,
            "envelope": event.model_dump(mode="json"), "created_at": event.occurred_at}


def seed_products(db: Database, products: Iterable[dict[str, Any]], *, settings: CatalogSettings,
                  progress: Progress = lambda _: None, photos: bool = False) -> SeedReport:
    report = SeedReport()
    now = datetime.now(UTC)
    files = PhotoFiles(settings.photos_dir)
    for chunk in _chunks(products, CHUNK):
        category_ids, created = ensure_categories(db, {tuple(p["category_path"]) for p in chunk})
        report.categories += created
        with db.session() as session:
            skus = [p["sku"] for p in chunk]
            existing = set(session.scalars(select(Product.sku).where(Product.sku.in_(skus))))
            fresh = [p for p in chunk if p["sku"] not in existing]
            report.skipped += len(chunk) - len(fresh)
            if not fresh:
                continue
            rows = [_row(p, category_ids["/".join(p["category_path"])], now, settings.currency)
                    for p in fresh]
            ids = session.execute(insert(Product).returning(Product.id, sort_by_parameter_order=True),
                                  rows).scalars().all()
            known = set(session.scalars(select(Availability.sku)
                                        .where(Availability.sku.in_([p["sku"] for p in fresh]))))
            stock = [{"sku": p["sku"], "available": int(p.get("stock") or 0), "as_of": now}
                     for p in fresh if p["sku"] not in known and "stock" in p]
            if stock:
                session.execute(insert(Availability), stock)
            outbox = [_outbox_row(events.ProductCreated(
                product_id=str(pid), sku=p["sku"], title=row["title"], brand=p.get("brand"),
                category_path=list(p["category_path"]), price_minor=row["price_minor"],
                currency=row["currency"]), str(pid)) for pid, p, row in zip(ids, fresh, rows,
                                                                           strict=True)]
            report.reviews += _seed_reviews(session, ids, fresh, outbox)
            session.execute(insert(OUTBOX), outbox)
            if photos:
                report.photos += _seed_photos(session, files, ids, fresh, settings)
            report.products += len(fresh)
        progress(f"{report.products} products written ({report.skipped} already there)")
    return report


def _seed_reviews(session: Any, ids: list[int], products: list[dict[str, Any]],
                  outbox: list[dict[str, Any]]) -> int:
    rows: list[dict[str, Any]] = []
    ratings: list[dict[str, Any]] = []
    for pid, p in zip(ids, products, strict=True):
        by_user: dict[str, dict[str, Any]] = {}
        for r in p.get("reviews") or []:
            user_id = demo_user_id(r["reviewer_email"])
            by_user[user_id] = {  # one review per user per product: the last one stands
                "id": str(uuid.uuid4()), "product_id": pid, "user_id": user_id,
                "reviewer_name": r["reviewer_name"][:200], "rating": int(r["rating"]),
                "title": None, "body": r.get("comment") or "", "verified_purchase": False,
                "hidden": False, "helpful_count": 0, "created_at": r["created_at"],
                "updated_at": r["created_at"]}
        if not by_user:
            continue
        rating = domain.aggregate_rating(imported_sum=0, imported_count=0,
                                         visible=[r["rating"] for r in by_user.values()])
        ratings.append({"id": pid, "rating_sum": rating.sum, "rating_count": rating.count})
        for r in by_user.values():
            outbox.append(_outbox_row(events.ReviewSubmitted(
                review_id=r["id"], product_id=str(pid), user_id=r["user_id"], rating=r["rating"],
                product_rating_avg=rating.average, product_rating_count=rating.count), str(pid)))
        rows += by_user.values()
    if rows:
        session.execute(insert(Review), rows)
        session.execute(update(Product), ratings)  # bulk UPDATE by primary key
    return len(rows)


def _seed_photos(session: Any, files: PhotoFiles, ids: list[int], products: list[dict[str, Any]],
                 settings: CatalogSettings) -> int:
    jobs = [(pid, p, variant) for pid, p in zip(ids, products, strict=True)
            for variant in range(max(1, min(DEMO_PHOTOS_PER_PRODUCT, len(p.get("images") or []))))]

    def make(job: tuple[int, dict[str, Any], int]) -> dict[str, Any]:
        pid, p, variant = job
        data = render_demo_photo(p["title"], "/".join(p["category_path"]), variant)
        processed = process_upload(data, max_bytes=settings.photo_max_bytes,
                                   max_pixels=settings.photo_max_pixels,
                                   max_side=settings.photo_max_side,
                                   thumb_side=settings.thumbnail_side)
        name, thumb = files.save(pid, processed)
        return {"product_id": pid, "position": variant, "filename": name, "thumbnail": thumb,
                "content_type": processed.content_type, "width": processed.width,
                "height": processed.height, "size_bytes": len(processed.image),
                "alt_text": p["title"][:300]}

    with ThreadPoolExecutor(2) as pool:  # Pillow releases the GIL while it encodes
        rows = list(pool.map(make, jobs))
    if rows:
        session.execute(insert(Photo), rows)
    return len(rows)


def run(settings: CatalogSettings, *, products: int | None, seed: int = 42, photos: bool = True,
        index: bool = True, progress: Progress = print) -> SeedReport:
    """Seed the configured catalog database, then rebuild the search index from it."""
    import time

    from search.demo_catalog import load_dummyjson
    from search.generator import generate_products
    from services.catalog.app import database, make_search_backend
    from services.catalog.reindex import reindex

    db = database(settings)
    db.migrate()
    t0 = time.perf_counter()
    if products is None:
        source = load_dummyjson()
        progress(f"demo catalog: {len(source)} DummyJSON products with reviews and photos")
        report = seed_products(db, source, settings=settings, progress=progress, photos=photos)
    else:
        progress(f"generated catalog: {products} products (seed {seed})")
        report = seed_products(db, generate_products(products, seed=seed), settings=settings,
                               progress=progress)
    report.timings["write_s"] = round(time.perf_counter() - t0, 2)
    if index:
        backend = make_search_backend(settings)
        try:
            result = reindex(db, backend, catch_up=False)
        finally:
            backend.close()
        report.timings["index_s"] = float(result["seconds"])  # type: ignore[arg-type]
        progress(f"search index {result['index']}: {result['documents']} documents")
    db.dispose()
    return report
