"""Use cases of the catalog's admin side (categories, products, photos) and product reads.

Each change is one transaction that also writes its event to the outbox, so the warehouse and the
search indexer see a change if and only if it committed. Handlers in `api.py` call these only.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from services.catalog import domain, events
from services.catalog.photos import PhotoFiles, process_upload, url_of
from services.catalog.schemas import (
    Availability as AvailabilityOut,
)
from services.catalog.schemas import (
    CategoryCreate,
    CategoryPublic,
    CategoryRef,
    CategoryUpdate,
    PhotoPublic,
    PhotoUpdate,
    ProductCreate,
    ProductPublic,
    ProductUpdate,
)
from services.catalog.settings import CatalogSettings
from services.catalog.store import (
    Category,
    Photo,
    Product,
    ProductTombstone,
    all_categories,
    availability_of,
    category_by_path,
    direct_product_counts,
    has_children,
    has_products,
    outbox,
    photos_of,
    product_by_sku,
)
from services.platform.db import Database
from services.platform.errors import Conflict, InvalidInput, NotFound


def product_state(product: Product, category_path: str) -> dict[str, object]:
    return {"product_id": str(product.id), "sku": product.sku, "title": product.title,
            "brand": product.brand, "category_path": domain.path_slugs(category_path),
            "price_minor": product.price_minor, "currency": product.currency}


def photo_public(photo: Photo) -> PhotoPublic:
    return PhotoPublic(id=photo.id, url=url_of(photo.filename), thumbnail_url=url_of(photo.thumbnail),
                       content_type=photo.content_type, width=photo.width, height=photo.height,
                       size_bytes=photo.size_bytes, alt_text=photo.alt_text, position=photo.position)


class Catalog:
    def __init__(self, *, db: Database, settings: CatalogSettings):
        self.db = db
        self.settings = settings
        self.files = PhotoFiles(settings.photos_dir)

    # --- categories ---------------------------------------------------------------------------
    def categories(self) -> list[CategoryPublic]:
        with self.db.read() as session:
            rows = all_categories(session)
            counts = domain.subtree_counts(parents={c.id: c.parent_id for c in rows},
                                           direct=direct_product_counts(session))
        by_id = {c.id: c for c in rows}
        return [self._category_public(c, by_id, counts[c.id]) for c in rows]

    def category(self, path: str) -> CategoryPublic:
        for item in self.categories():
            if item.path == path:
                return item
        raise NotFound(f"No category {path!r}.")

    @staticmethod
    def _category_public(c: Category, by_id: dict[int, Category], count: int) -> CategoryPublic:
        parent = by_id.get(c.parent_id) if c.parent_id else None
        return CategoryPublic(id=c.id, slug=c.slug, name=c.name, path=c.path,
                              parent_path=parent.path if parent else None,
                              depth=c.path.count("/") + 1, description=c.description,
                              product_count=count)

    def create_category(self, data: CategoryCreate) -> CategoryPublic:
        slug = data.slug or domain.slugify(data.name)
        if not slug:
            raise InvalidInput("Give the category a slug (its name has no letters or digits).",
                               errors=[{"field": "slug", "message": "required"}])
        try:
            with self.db.session() as session:
                parent = self._category_or_422(session, data.parent, "parent") if data.parent \
                    else None
                path = domain.child_path(parent_path=parent.path if parent else None, slug=slug)
                if path.count("/") + 1 > domain.MAX_CATEGORY_DEPTH:
                    raise InvalidInput(f"Categories nest at most {domain.MAX_CATEGORY_DEPTH} deep.")
                if category_by_path(session, path):
                    raise Conflict(f"The category {path!r} exists already.", slug="category-exists")
                session.add(Category(slug=slug, path=path, name=data.name,
                                     parent_id=parent.id if parent else None,
                                     description=data.description))
        except IntegrityError as exc:
            raise Conflict(f"The category {path!r} exists already.", slug="category-exists") from exc
        return self.category(path)

    def update_category(self, path: str, data: CategoryUpdate) -> CategoryPublic:
        with self.db.session() as session:
            category = self._category(session, path)
            for key, value in data.model_dump(exclude_unset=True, exclude_none=True).items():
                setattr(category, key, value)
        return self.category(path)

    def delete_category(self, path: str) -> None:
        with self.db.session() as session:
            category = self._category(session, path)
            if has_children(session, category.id) or has_products(session, category.id):
                raise Conflict("Only an empty category (no sub-categories, no products) can be "
                               "deleted.", slug="category-not-empty")
            session.delete(category)

    @staticmethod
    def _category(session: Session, path: str) -> Category:
        category = category_by_path(session, path)
        if category is None:
            raise NotFound(f"No category {path!r}.")
        return category

    @staticmethod
    def _category_or_422(session: Session, path: str, field: str) -> Category:
        category = category_by_path(session, path)
        if category is None:
            raise InvalidInput(f"No category {path!r}; create it first.", slug="unknown-category",
                               errors=[{"field": field, "message": "unknown category"}])
        return category

    # --- products -----------------------------------------------------------------------------
    def product(self, product_id: int) -> ProductPublic:
        with self.db.read() as session:
            return self._public(session, self._product(session, product_id))

    def _product(self, session: Session, product_id: int, *, lock: bool = False) -> Product:
        product = session.get(Product, product_id, with_for_update=lock)
        if product is None:
            raise NotFound(f"No product {product_id}.")
        return product

    def _public(self, session: Session, product: Product) -> ProductPublic:
        category = session.get(Category, product.category_id)
        assert category is not None  # FK
        names, node = [], category
        while node is not None:
            names.append(node.name)
            node = session.get(Category, node.parent_id) if node.parent_id else None
        stock = availability_of(session, product.sku)
        status = domain.stock_status(available=stock.available if stock else None,
                                     low_threshold=self.settings.low_stock_threshold)
        rating = domain.Rating(product.rating_sum, product.rating_count)
        return ProductPublic(
            id=product.id, sku=product.sku, title=product.title, description=product.description,
            brand=product.brand, category=CategoryRef(path=category.path, names=names[::-1]),
            attributes=product.attributes or {}, tags=product.tags or [],
            price_minor=product.price_minor, currency=product.currency,
            rating_avg=rating.average, rating_count=rating.count,
            photos=[photo_public(p) for p in photos_of(session, product.id)],
            availability=AvailabilityOut(status=status,
                                         available=max(0, stock.available) if stock else None,
                                         as_of=stock.as_of if stock else None),
            created_at=product.created_at, updated_at=product.updated_at)

    def create_product(self, data: ProductCreate) -> ProductPublic:
        try:
            with self.db.session() as session:
                category = self._category_or_422(session, data.category, "category")
                if product_by_sku(session, data.sku):
                    raise Conflict(f"SKU {data.sku!r} is taken.", slug="sku-taken")
                fields = data.model_dump(exclude={"category"})
                fields["attributes"] = domain.clean_attributes(fields["attributes"])
                product = Product(**fields, category_id=category.id)
                session.add(product)
                session.flush()
                outbox.publish(session, events.ProductCreated(**product_state(product,
                                                                              category.path)),
                               subject=str(product.id))
                product_id = product.id
        except IntegrityError as exc:  # lost a race for the SKU
            raise Conflict(f"SKU {data.sku!r} is taken.", slug="sku-taken") from exc
        return self.product(product_id)

    def update_product(self, product_id: int, data: ProductUpdate) -> ProductPublic:
        fields = data.model_dump(exclude_unset=True)
        for required in ("sku", "title", "category", "price_minor", "currency"):
            if required in fields and fields[required] is None:
                raise InvalidInput(f"{required} cannot be empty.",
                                   errors=[{"field": required, "message": "cannot be null"}])
        try:
            with self.db.session() as session:
                product = self._product(session, product_id, lock=True)
                if "category" in fields:
                    product.category_id = self._category_or_422(
                        session, fields.pop("category"), "category").id
                if fields.get("sku") not in (None, product.sku) and product_by_sku(session,
                                                                                  fields["sku"]):
                    raise Conflict(f"SKU {fields['sku']!r} is taken.", slug="sku-taken")
                if "attributes" in fields:
                    fields["attributes"] = domain.clean_attributes(fields["attributes"])
                for key, value in fields.items():
                    setattr(product, key, value)
                product.updated_at = datetime.now(UTC)
                self._publish_updated(session, product)
        except IntegrityError as exc:
            raise Conflict("SKU is taken.", slug="sku-taken") from exc
        return self.product(product_id)

    def _publish_updated(self, session: Session, product: Product) -> None:
        session.flush()
        category = session.get(Category, product.category_id)
        assert category is not None
        outbox.publish(session, events.ProductUpdated(**product_state(product, category.path)),
                       subject=str(product.id))

    def delete_product(self, product_id: int) -> None:
        with self.db.session() as session:
            product = self._product(session, product_id, lock=True)
            files = [n for p in photos_of(session, product_id) for n in (p.filename, p.thumbnail)]
            session.merge(ProductTombstone(product_id=product.id, sku=product.sku,
                                           deleted_at=datetime.now(UTC)))
            outbox.publish(session, events.ProductDeleted(product_id=str(product.id),
                                                          sku=product.sku),
                           subject=str(product.id))
            session.delete(product)
        self.files.remove(*files)  # after the commit: a rollback must not lose the photos

    # --- photos -------------------------------------------------------------------------------
    def add_photo(self, product_id: int, data: bytes, alt_text: str) -> PhotoPublic:
        s = self.settings
        with self.db.read() as session:
            self._product(session, product_id)
            if len(photos_of(session, product_id)) >= s.max_photos_per_product:
                raise Conflict(f"A product has at most {s.max_photos_per_product} photos.",
                               slug="too-many-photos")
        processed = process_upload(data, max_bytes=s.photo_max_bytes, max_pixels=s.photo_max_pixels,
                                   max_side=s.photo_max_side, thumb_side=s.thumbnail_side)
        names = self.files.save(product_id, processed)
        try:
            with self.db.session() as session:
                product = self._product(session, product_id, lock=True)
                existing = photos_of(session, product_id)
                photo = Photo(product_id=product_id, filename=names[0], thumbnail=names[1],
                              position=max((p.position for p in existing), default=-1) + 1,
                              content_type=processed.content_type, width=processed.width,
                              height=processed.height, size_bytes=len(processed.image),
                              alt_text=alt_text)
                session.add(photo)
                product.updated_at = datetime.now(UTC)
                self._publish_updated(session, product)
                return photo_public(photo)
        except BaseException:
            self.files.remove(*names)
            raise

    def update_photo(self, product_id: int, photo_id: int, data: PhotoUpdate) -> PhotoPublic:
        with self.db.session() as session:
            product = self._product(session, product_id, lock=True)
            photo = self._photo(session, product_id, photo_id)
            if data.alt_text is not None:
                photo.alt_text = data.alt_text
            if data.position is not None:  # move it there; the others close up behind it
                others = [p for p in photos_of(session, product_id) if p.id != photo.id]
                others.insert(min(data.position, len(others)), photo)
                for position, item in enumerate(others):
                    item.position = position
            product.updated_at = datetime.now(UTC)
            self._publish_updated(session, product)
            return photo_public(photo)

    def delete_photo(self, product_id: int, photo_id: int) -> None:
        with self.db.session() as session:
            product = self._product(session, product_id, lock=True)
            photo = self._photo(session, product_id, photo_id)
            names = (photo.filename, photo.thumbnail)
            session.delete(photo)
            product.updated_at = datetime.now(UTC)
            self._publish_updated(session, product)
        self.files.remove(*names)

    @staticmethod
    def _photo(session: Session, product_id: int, photo_id: int) -> Photo:
        photo = session.get(Photo, photo_id)
        if photo is None or photo.product_id != product_id:
            raise NotFound(f"No photo {photo_id} on product {product_id}.")
        return photo
