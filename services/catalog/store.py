"""Tables and queries of the catalog service (nobody else touches them).

Ratings are stored as sums and counts (never a drifting running average): the visible reviews'
stars plus an `imported_*` baseline for ratings that came with seeded or imported products and
have no review rows. Stock is kept per SKU in `availability`, written only by the indexer from
inventory events. `index_queue` is the indexer's durable to-do list of products whose search
document must be rewritten; `product_tombstones` remember deletions for blue/green catch-up.
"""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    func,
    insert,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from services.catalog.events import SOURCE
from services.platform.outbox import Outbox, outbox_table, processed_events_table


class Base(DeclarativeBase):
    pass


def new_id() -> str:
    return str(uuid.uuid4())


class Category(Base):
    __tablename__ = "categories"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    parent_id: Mapped[int | None] = mapped_column(
        ForeignKey("categories.id", ondelete="RESTRICT"), index=True)
    slug: Mapped[str] = mapped_column(String(64))
    path: Mapped[str] = mapped_column(String(600), unique=True)
    """Slugs from the root joined by '/', the key search filters and facets use."""
    name: Mapped[str] = mapped_column(String(100))
    description: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Product(Base):
    __tablename__ = "products"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    sku: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text, default="")
    brand: Mapped[str | None] = mapped_column(String(100), index=True)
    category_id: Mapped[int] = mapped_column(ForeignKey("categories.id", ondelete="RESTRICT"),
                                             index=True)
    attributes: Mapped[dict] = mapped_column(JSON, default=dict)
    tags: Mapped[list] = mapped_column(JSON, default=list)
    price_minor: Mapped[int] = mapped_column(BigInteger)
    currency: Mapped[str] = mapped_column(String(3))
    rating_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    rating_count: Mapped[int] = mapped_column(Integer, default=0)
    imported_rating_sum: Mapped[int] = mapped_column(BigInteger, default=0)
    imported_rating_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), index=True)


class Photo(Base):
    __tablename__ = "photos"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"),
                                            index=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    filename: Mapped[str] = mapped_column(String(200))
    thumbnail: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(50))
    width: Mapped[int] = mapped_column(Integer)
    height: Mapped[int] = mapped_column(Integer)
    size_bytes: Mapped[int] = mapped_column(Integer)
    alt_text: Mapped[str] = mapped_column(String(300), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Review(Base):
    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("product_id", "user_id", name="uq_reviews_one_per_user"),
        Index("ix_reviews_product_visible", "product_id", "hidden", "created_at"),
    )
    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(36), index=True)
    reviewer_name: Mapped[str] = mapped_column(String(200))
    rating: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text, default="")
    verified_purchase: Mapped[bool] = mapped_column(Boolean, default=False)
    """The reviewer paid for an order with this product (services/catalog/purchases.py)."""
    hidden: Mapped[bool] = mapped_column(Boolean, default=False)
    moderation_note: Mapped[str | None] = mapped_column(String(500))
    helpful_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now())


class ReviewVote(Base):
    """One helpful vote per user per review (the primary key enforces it)."""

    __tablename__ = "review_votes"
    review_id: Mapped[str] = mapped_column(ForeignKey("reviews.id", ondelete="CASCADE"),
                                           primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class Availability(Base):
    """Sellable stock per SKU as last reported by inventory (`as_of` = the event's time)."""

    __tablename__ = "availability"
    sku: Mapped[str] = mapped_column(String(64), primary_key=True)
    available: Mapped[int] = mapped_column(Integer)
    as_of: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    recorded_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), server_default=func.now(), onupdate=func.now(), index=True)


class ProductTombstone(Base):
    __tablename__ = "product_tombstones"
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    sku: Mapped[str] = mapped_column(String(64))
    deleted_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), index=True)


class IndexQueue(Base):
    __tablename__ = "index_queue"
    seq: Mapped[int] = mapped_column(BigInteger().with_variant(Integer, "sqlite"), primary_key=True,
                                     autoincrement=True)
    product_id: Mapped[int] = mapped_column(Integer)
    queued_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), server_default=func.now())


class OrderedProduct(Base):
    """Which products an order holds, from `order.placed`; kept until `order.paid` verifies them."""

    __tablename__ = "ordered_products"
    order_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[str] = mapped_column(String(36))


class Purchase(Base):
    """A user paid for this product at least once: their review of it is a verified purchase."""

    __tablename__ = "purchases"
    user_id: Mapped[str] = mapped_column(String(36), primary_key=True)
    product_id: Mapped[int] = mapped_column(Integer, primary_key=True)
    first_order_id: Mapped[str] = mapped_column(String(64))
    paid_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))


OUTBOX = outbox_table(Base.metadata)
PROCESSED = processed_events_table(Base.metadata)
outbox = Outbox(OUTBOX, SOURCE)


# --- queries ----------------------------------------------------------------------------------

def category_by_path(session: Session, path: str) -> Category | None:
    return session.scalar(select(Category).where(Category.path == path))


def all_categories(session: Session) -> list[Category]:
    return list(session.scalars(select(Category).order_by(Category.path)))


def direct_product_counts(session: Session) -> dict[int, int]:
    rows = session.execute(select(Product.category_id, func.count()).group_by(Product.category_id))
    return {cid: n for cid, n in rows}


def has_children(session: Session, category_id: int) -> bool:
    return session.scalar(select(Category.id).where(Category.parent_id == category_id).limit(1)) \
        is not None


def has_products(session: Session, category_id: int) -> bool:
    return session.scalar(select(Product.id).where(Product.category_id == category_id).limit(1)) \
        is not None


def product_by_sku(session: Session, sku: str) -> Product | None:
    return session.scalar(select(Product).where(Product.sku == sku))


def photos_of(session: Session, product_id: int) -> list[Photo]:
    query = select(Photo).where(Photo.product_id == product_id)
    return list(session.scalars(query.order_by(Photo.position, Photo.id)))


def availability_of(session: Session, sku: str) -> Availability | None:
    return session.get(Availability, sku)


def visible_ratings(session: Session, product_id: int) -> list[int]:
    query = select(Review.rating).where(Review.product_id == product_id, Review.hidden.is_(False))
    return list(session.scalars(query))


def reviews_of(
    session: Session, product_id: int, *, include_hidden: bool, order: str, offset: int, limit: int
) -> tuple[list[Review], int]:
    where = [Review.product_id == product_id]
    if not include_hidden:
        where.append(Review.hidden.is_(False))
    total = session.scalar(select(func.count()).select_from(Review).where(*where)) or 0
    sort = {"helpful": (Review.helpful_count.desc(), Review.created_at.desc()),
            "newest": (Review.created_at.desc(),),
            "rating_desc": (Review.rating.desc(), Review.created_at.desc()),
            "rating_asc": (Review.rating.asc(), Review.created_at.desc())}[order]
    rows = session.scalars(select(Review).where(*where).order_by(*sort, Review.id)
                           .offset(offset).limit(limit))
    return list(rows), total


def hidden_reviews(session: Session, *, offset: int, limit: int) -> tuple[list[Review], int]:
    where = Review.hidden.is_(True)
    total = session.scalar(select(func.count()).select_from(Review).where(where)) or 0
    rows = session.scalars(select(Review).where(where).order_by(Review.updated_at.desc(), Review.id)
                           .offset(offset).limit(limit))
    return list(rows), total


def review_of_user(session: Session, product_id: int, user_id: str) -> Review | None:
    return session.scalar(select(Review).where(Review.product_id == product_id,
                                               Review.user_id == user_id))


def has_purchased(session: Session, user_id: str, product_id: int) -> bool:
    return session.get(Purchase, (user_id, product_id)) is not None


def enqueue(session: Session, product_ids: list[int]) -> None:
    """Ask the indexer to rewrite these products' search documents."""
    if product_ids:
        session.execute(insert(IndexQueue), [{"product_id": pid} for pid in product_ids])


def enqueue_all(session: Session) -> None:
    """Ask the indexer to rewrite every product's document."""
    session.execute(insert(IndexQueue).from_select(["product_id"], select(Product.id)))


def upsert_availability(session: Session, *, sku: str, available: int, as_of: datetime) -> None:
    row = session.get(Availability, sku, with_for_update=True)
    if row is None:
        session.add(Availability(sku=sku, available=available, as_of=as_of))
    else:
        row.available, row.as_of = available, as_of
    session.flush()
