"""Use cases of the cart service. Each write is one Redis transaction that changes the cart and
appends its events (see `store.py`); handlers in `api.py` call these and nothing else.

Prices: every read re-prices the cart from the catalog (`PriceSource`). Each line remembers the
price the shopper accepted; a different current price is flagged on the line, and checkout is
refused until the shopper acknowledges it — a changed price is never silently applied.
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import structlog

from services.cart import domain, events
from services.cart.domain import CartRuleError, Line, Quote
from services.cart.promotions import USAGE, PromotionBook, user_usage_key
from services.cart.schemas import (
    AdjustmentPublic,
    AppliedPromotionPublic,
    CartPublic,
    LinePublic,
    RejectedCode,
    SavedPublic,
    SnapshotLine,
    SnapshotPublic,
    Totals,
)
from services.cart.settings import CartSettings
from services.cart.sources import PriceSource, Product, StockSource
from services.cart.store import CartDoc, CartStore, Item, StoredSnapshot, guest_cart_key, user_cart_key
from services.platform.auth import Identity
from services.platform.errors import Conflict, NotFound
from services.platform.events import EventData

log = structlog.get_logger("cart")
MAX_SAVED = 100
IDEMPOTENCY_TTL_S = 24 * 3600
SNAPSHOT_KEEP_S = 7 * 24 * 3600


def utcnow() -> datetime:
    return datetime.now(UTC)


@dataclass(frozen=True)
class Shopper:
    """Who owns the cart of this request: a signed-in user, or a guest with a cart token."""

    user_id: str | None = None
    token: str | None = None
    session_id: str | None = None

    @property
    def key(self) -> str | None:
        if self.user_id:
            return user_cart_key(self.user_id)
        return guest_cart_key(self.token) if self.token else None


@dataclass
class Priced:
    """A cart with current prices and its quote."""

    doc: CartDoc
    products: dict[str, Product]
    quote: Quote


class Carts:
    def __init__(self, *, store: CartStore, promotions: PromotionBook, prices: PriceSource,
                 stock: StockSource, settings: CartSettings,
                 clock: Callable[[], datetime] = utcnow):
        self.store = store
        self.promotions = promotions
        self.prices = prices
        self.stock = stock
        self.settings = settings
        self.clock = clock

    # --- reading and pricing ----------------------------------------------------------------
    def _new_doc(self, shopper: Shopper, now: datetime) -> CartDoc:
        return CartDoc(cart_id=str(uuid.uuid4()), user_id=shopper.user_id,
                       session_id=shopper.session_id, currency=self.settings.currency,
                       created_at=now, updated_at=now)

    def _empty(self, shopper: Shopper) -> CartDoc:
        doc = self._new_doc(shopper, self.clock())
        doc.cart_id = ""
        return doc

    def price(self, doc: CartDoc, *, user_id: str | None, codes: Sequence[str] | None = None) -> Priced:
        products = self.prices.products([i.product_id for i in [*doc.items, *doc.saved]])
        lines = [Line(i.product_id, p.sku, i.quantity, p.price_minor, tuple(p.categories))
                 for i in doc.items if (p := products.get(i.product_id)) is not None]
        promos = self.promotions.active()
        limited = [p.id for p in promos if p.usage_limit is not None or p.per_user_limit is not None]
        quote = domain.price_cart(
            lines=lines, promotions=promos, now=self.clock(), currency=doc.currency,
            codes=list(doc.codes if codes is None else codes), user_id=user_id,
            usage=self.promotions.usage(limited, user_id),
            shipping_minor=self.settings.shipping_fee_minor if lines else 0)
        return Priced(doc, products, quote)

    def _public(self, priced: Priced, *, token: str | None = None,
                adjustments: Sequence[domain.Adjustment] = ()) -> CartPublic:
        doc, products, q = priced.doc, priced.products, priced.quote
        quoted = {line.product_id: line for line in q.lines}
        items = []
        for item in doc.items:
            line, product = quoted.get(item.product_id), products.get(item.product_id)
            if line is None or product is None:
                items.append(LinePublic(product_id=item.product_id, sku=item.sku, title=item.title,
                                        quantity=item.quantity, unit_price_minor=item.unit_price_minor,
                                        subtotal_minor=0, discount_minor=0, total_minor=0,
                                        unavailable=True))
                continue
            changed = product.price_minor != item.unit_price_minor
            items.append(LinePublic(
                product_id=item.product_id, sku=product.sku, title=product.title,
                quantity=item.quantity, unit_price_minor=line.unit_price_minor,
                subtotal_minor=line.subtotal_minor, discount_minor=line.discount_minor,
                total_minor=line.total_minor, price_changed=changed,
                previous_unit_price_minor=item.unit_price_minor if changed else None))
        saved = [SavedPublic(product_id=s.product_id, sku=s.sku, title=s.title, quantity=s.quantity,
                             unit_price_minor=products[s.product_id].price_minor
                             if s.product_id in products else s.unit_price_minor)
                 for s in doc.saved]
        return CartPublic(
            cart_id=doc.cart_id or None, cart_token=token, user_id=doc.user_id, currency=doc.currency,
            items=items, saved=saved, codes=list(doc.codes),
            promotions=[AppliedPromotionPublic(promotion_id=a.promotion_id, name=a.name, kind=a.kind,
                                               saved_minor=a.saved_minor, code=a.code,
                                               campaign_id=a.campaign_id) for a in q.applied],
            rejected_codes=[RejectedCode(code=c, reason=r) for c, r in q.rejected_codes],
            totals=Totals(subtotal_minor=q.subtotal_minor, discount_minor=q.discount_minor,
                          shipping_minor=q.shipping_minor,
                          shipping_discount_minor=q.shipping_discount_minor,
                          total_minor=q.total_minor, saved_minor=q.saved_minor),
            price_changes=any(i.price_changed for i in items),
            adjustments=[AdjustmentPublic(product_id=a.product_id, requested=a.requested,
                                          kept=a.kept, reason=a.reason) for a in adjustments])

    def view(self, shopper: Shopper) -> CartPublic:
        key = shopper.key
        doc = self.store.load(key) if key else None
        return self._public(self.price(doc or self._empty(shopper), user_id=shopper.user_id))

    # --- writing ----------------------------------------------------------------------------
    def _ttl(self, shopper: Shopper) -> int:
        return self.settings.user_cart_ttl_s if shopper.user_id else self.settings.guest_idle_ttl_s

    def _write(
        self, shopper: Shopper,
        change: Callable[[CartDoc, datetime], Sequence[EventData]], *, create: bool = False,
    ) -> CartPublic:
        """Run `change` on the shopper's cart in one transaction (creating the cart, and a guest
        token, when `create` is set and there is none) and answer the re-priced cart."""
        token = None
        key = shopper.key
        if create and not shopper.user_id and (key is None or self.store.load(key) is None):
            token = secrets.token_urlsafe(32)  # never adopt a token the client made up
            shopper = Shopper(token=token, session_id=shopper.session_id)
            key = shopper.key
        if key is None:
            raise NotFound("There is no cart yet.", slug="no-cart")

        def mutate(doc: CartDoc | None) -> tuple[CartDoc | None, Sequence[EventData]]:
            now = self.clock()
            if doc is None:
                if not create:
                    raise NotFound("There is no cart yet.", slug="no-cart")
                doc = self._new_doc(shopper, now)
            if shopper.session_id:
                doc.session_id = shopper.session_id
            emitted = change(doc, now)
            doc.updated_at, doc.abandoned_at = now, None
            return doc, emitted

        doc = self.store.change(key, mutate, ttl_s=self._ttl(shopper))
        assert doc is not None
        return self._public(self.price(doc, user_id=shopper.user_id), token=token)

    def _product(self, product_id: str) -> Product:
        product = self.prices.products([product_id]).get(product_id)
        if product is None:
            raise NotFound(f"There is no product {product_id}.", slug="unknown-product")
        if product.currency != self.settings.currency:
            raise CartRuleError(f"{product.title} is not sold in {self.settings.currency}.",
                                slug="wrong-currency")
        return product

    def _check_quantity(self, product: Product, quantity: int) -> None:
        if quantity > self.settings.per_item_limit:
            raise CartRuleError(f"At most {self.settings.per_item_limit} of one item per order.",
                                slug="per-item-limit")
        available = self.stock.available([product.sku]).get(product.sku)
        if available is not None and quantity > available:
            raise CartRuleError(f"Only {available} of {product.title or product.sku} in stock.",
                                slug="insufficient-stock", status=409, available=available)

    def _event_base(self, doc: CartDoc) -> dict[str, str | None]:
        return {"cart_id": doc.cart_id, "session_id": doc.session_id, "user_id": doc.user_id}

    def add_item(self, shopper: Shopper, product_id: str, quantity: int) -> CartPublic:
        product = self._product(product_id)
        existing = self.store.load(shopper.key) if shopper.key else None
        already = existing.item(product_id) if existing else None
        self._check_quantity(product, quantity + (already.quantity if already else 0))

        def change(doc: CartDoc, now: datetime) -> list[EventData]:
            item = doc.item(product_id)
            wanted = quantity + (item.quantity if item else 0)
            if wanted > self.settings.per_item_limit:  # a concurrent add got in first
                raise CartRuleError(f"At most {self.settings.per_item_limit} of one item per order.",
                                    slug="per-item-limit")
            if item is None:
                if len(doc.items) >= self.settings.max_lines:
                    raise CartRuleError(f"A cart holds at most {self.settings.max_lines} lines.",
                                        slug="too-many-lines")
                doc.items.append(self._item(product, quantity, now))
            else:
                item.quantity, item.unit_price_minor = wanted, product.price_minor
            doc.saved = [s for s in doc.saved if s.product_id != product_id]
            return [events.CartItemAdded(**self._event_base(doc), product_id=product_id,
                                         sku=product.sku, quantity=quantity,
                                         unit_price_minor=product.price_minor,
                                         currency=product.currency)]

        return self._write(shopper, change, create=True)

    @staticmethod
    def _item(product: Product, quantity: int, now: datetime) -> Item:
        return Item(product_id=product.product_id, sku=product.sku, title=product.title,
                    quantity=quantity, unit_price_minor=product.price_minor,
                    currency=product.currency, categories=list(product.categories), added_at=now)

    def set_quantity(self, shopper: Shopper, product_id: str, quantity: int) -> CartPublic:
        product = self._product(product_id)
        self._check_quantity(product, quantity)

        def change(doc: CartDoc, now: datetime) -> list[EventData]:
            item = self._in_cart(doc, product_id)
            if item.quantity == quantity:
                return []
            old, item.quantity, item.unit_price_minor = item.quantity, quantity, product.price_minor
            return [events.CartQuantityChanged(**self._event_base(doc), product_id=product_id,
                                               sku=item.sku, old_quantity=old, new_quantity=quantity,
                                               unit_price_minor=product.price_minor,
                                               currency=product.currency)]

        return self._write(shopper, change)

    @staticmethod
    def _in_cart(doc: CartDoc, product_id: str) -> Item:
        item = doc.item(product_id)
        if item is None:
            raise NotFound(f"Product {product_id} is not in the cart.", slug="not-in-cart")
        return item

    def remove_item(self, shopper: Shopper, product_id: str) -> CartPublic:
        def change(doc: CartDoc, now: datetime) -> list[EventData]:
            item = self._in_cart(doc, product_id)
            doc.items.remove(item)
            return [events.CartItemRemoved(**self._event_base(doc), product_id=product_id,
                                           sku=item.sku, quantity=item.quantity)]

        return self._write(shopper, change)

    def clear(self, shopper: Shopper) -> CartPublic:
        def change(doc: CartDoc, now: datetime) -> list[EventData]:
            gone = [events.CartItemRemoved(**self._event_base(doc), product_id=i.product_id,
                                           sku=i.sku, quantity=i.quantity, reason="cleared")
                    for i in doc.items]
            doc.items, doc.codes = [], []
            return gone

        return self._write(shopper, change)

    def save_for_later(self, shopper: Shopper, product_id: str) -> CartPublic:
        def change(doc: CartDoc, now: datetime) -> list[EventData]:
            item = self._in_cart(doc, product_id)
            if len(doc.saved) >= MAX_SAVED:
                raise CartRuleError(f"At most {MAX_SAVED} saved items.", slug="too-many-saved")
            doc.items.remove(item)
            doc.saved.append(item)
            return [events.CartItemRemoved(**self._event_base(doc), product_id=product_id,
                                           sku=item.sku, quantity=item.quantity,
                                           reason="saved_for_later")]

        return self._write(shopper, change)

    def move_to_cart(self, shopper: Shopper, product_id: str) -> CartPublic:
        doc = self.store.load(shopper.key) if shopper.key else None
        saved = next((s for s in doc.saved if s.product_id == product_id), None) if doc else None
        if saved is None:
            raise NotFound(f"Product {product_id} is not saved for later.", slug="not-saved")
        self.remove_saved(shopper, product_id)
        return self.add_item(shopper, product_id, saved.quantity)

    def remove_saved(self, shopper: Shopper, product_id: str) -> CartPublic:
        def change(doc: CartDoc, now: datetime) -> list[EventData]:
            if not any(s.product_id == product_id for s in doc.saved):
                raise NotFound(f"Product {product_id} is not saved for later.", slug="not-saved")
            doc.saved = [s for s in doc.saved if s.product_id != product_id]
            return []

        return self._write(shopper, change)

    def acknowledge_prices(self, shopper: Shopper) -> CartPublic:
        """The shopper has seen the current prices: they become the accepted ones."""
        doc = self.store.load(shopper.key) if shopper.key else None
        current = self.prices.products([i.product_id for i in doc.items]) if doc else {}

        def change(doc: CartDoc, now: datetime) -> list[EventData]:
            for item in doc.items:
                if item.product_id in current:
                    item.unit_price_minor = current[item.product_id].price_minor
            return []

        return self._write(shopper, change)

    # --- promo codes ------------------------------------------------------------------------
    def apply_code(self, shopper: Shopper, code: str) -> CartPublic:
        doc = self.store.load(shopper.key) if shopper.key else None
        if doc is None or not doc.items:
            raise CartRuleError("Add something to the cart before using a code.", slug="cart-empty",
                                status=409)
        promo = self.promotions.by_code(code)
        before = self.price(doc, user_id=shopper.user_id)
        usage = self.promotions.usage([promo.id], shopper.user_id) if promo else domain.Usage()
        domain.check_code(promo, code=code, now=self.clock(), subtotal_minor=before.quote.subtotal_minor,
                          currency=doc.currency, user_id=shopper.user_id, usage=usage,
                          applied_codes=doc.codes)
        assert promo is not None
        after = self.price(doc, user_id=shopper.user_id, codes=[*doc.codes, code])
        saved = sum(a.saved_minor for a in after.quote.applied if a.promotion_id == promo.id)

        def change(doc: CartDoc, now: datetime) -> list[EventData]:
            if code in doc.codes:
                raise CartRuleError(f"The code {code} is already on the cart.",
                                    slug="code-already-applied", status=409)
            doc.codes.append(code)
            doc.campaign_id = promo.campaign_id or doc.campaign_id
            return [events.CartPromoCodeApplied(**self._event_base(doc), promo_code=code,
                                                campaign_id=promo.campaign_id, discount_minor=saved,
                                                currency=doc.currency)]

        return self._write(shopper, change)

    def remove_code(self, shopper: Shopper, code: str) -> CartPublic:
        def change(doc: CartDoc, now: datetime) -> list[EventData]:
            if code not in doc.codes:
                raise NotFound(f"The code {code} is not on the cart.", slug="code-not-applied")
            doc.codes.remove(code)
            return []

        return self._write(shopper, change)

    # --- login merge ------------------------------------------------------------------------
    def merge(self, user: Shopper, guest_token: str) -> CartPublic:
        """Fold the guest cart into the user's: quantities add up, capped by stock and the
        per-item limit; codes and saved items carry over; the guest cart is gone afterwards.
        Merging a token whose cart is already gone changes nothing (safe to retry)."""
        assert user.user_id
        guest_key = guest_cart_key(guest_token)
        guest = self.store.load(guest_key)
        if guest is None:
            return self.view(user)
        mine = self.store.load(user.key or "")
        skus = {i.product_id: i.sku for i in [*guest.items, *(mine.items if mine else [])]}
        stock = self.stock.available(skus.values())
        adjustments: list[domain.Adjustment] = []

        def mutate(doc: CartDoc | None, absorbed: CartDoc | None) -> tuple[CartDoc, list[EventData]]:
            now = self.clock()
            doc = doc or self._new_doc(user, now)
            if absorbed is None:
                return doc, []
            merged, adjusted = domain.merge_quantities(
                into={i.product_id: i.quantity for i in doc.items},
                incoming={i.product_id: i.quantity for i in absorbed.items},
                per_item_limit=self.settings.per_item_limit,
                available={pid: stock.get(sku) for pid, sku in skus.items()})
            adjustments[:] = adjusted
            by_id = {i.product_id: i for i in [*absorbed.items, *doc.items]}  # user's line wins
            doc.items = [by_id[pid].model_copy(update={"quantity": q}) for pid, q in merged.items()]
            in_cart = set(merged)
            saved = {s.product_id: s for s in [*absorbed.saved, *doc.saved] if s.product_id not in in_cart}
            doc.saved = list(saved.values())[:MAX_SAVED]
            doc.codes = list(dict.fromkeys([*doc.codes, *absorbed.codes]))[:domain.MAX_CODES_PER_CART]
            doc.campaign_id = doc.campaign_id or absorbed.campaign_id
            doc.session_id = absorbed.session_id or doc.session_id
            doc.updated_at, doc.abandoned_at = now, None
            return doc, []

        doc = self.store.change(user.key or "", mutate, ttl_s=self.settings.user_cart_ttl_s,  # type: ignore[arg-type]
                                absorb=guest_key)
        assert doc is not None
        return self._public(self.price(doc, user_id=user.user_id), adjustments=adjustments)

    # --- checkout hand-off ------------------------------------------------------------------
    def checkout(self, user: Shopper, idempotency_key: str | None) -> tuple[SnapshotPublic, bool]:
        """Freeze the priced cart into an immutable snapshot for the orders service. The cart
        itself stays until the order is accepted. Returns (snapshot, created)."""
        assert user.user_id
        idem = f"cart:idem:{user.user_id}:{idempotency_key or uuid.uuid4()}"
        prior = self.store.redis.get(idem)
        if prior is not None:
            stored = self.store.load_snapshot(prior.decode())
            if stored is not None:
                return stored.snapshot, False
        doc = self.store.load(user.key or "")
        if doc is None or not doc.items:
            raise CartRuleError("The cart is empty.", slug="cart-empty", status=409)
        priced = self.price(doc, user_id=user.user_id)
        self._ready_for_checkout(priced)
        now = self.clock()
        snapshot = self._snapshot(priced, user, now)
        promos = {p.id: p for p in self.promotions.active()}
        limits = [(a.promotion_id, promos[a.promotion_id].usage_limit,
                   promos[a.promotion_id].per_user_limit)
                  for a in priced.quote.applied if a.promotion_id in promos]
        outcome, value = self.store.create_snapshot(
            StoredSnapshot(snapshot=snapshot, cart_key=user.key or "", claims=[x[0] for x in limits]),
            idempotency=idem, usage_key=USAGE, user_usage_key=user_usage_key(user.user_id),
            limits=limits, ttl_s=self.settings.snapshot_ttl_s + SNAPSHOT_KEEP_S,
            idempotency_ttl_s=IDEMPOTENCY_TTL_S)
        if outcome == "created":
            return snapshot, True
        if outcome == "replay":
            stored = self.store.load_snapshot(value)
            assert stored is not None
            return stored.snapshot, False
        raise CartRuleError("A promotion on the cart has just been used up; review the cart.",
                            slug=outcome, status=409, promotion_id=value)

    def _ready_for_checkout(self, priced: Priced) -> None:
        doc, products = priced.doc, priced.products
        gone = [i.product_id for i in doc.items if i.product_id not in products]
        if gone:
            raise CartRuleError("Some products are no longer sold; remove them first.",
                                slug="product-unavailable", status=409, product_ids=gone)
        changed = [{"product_id": i.product_id, "was": i.unit_price_minor,
                    "now": products[i.product_id].price_minor}
                   for i in doc.items if products[i.product_id].price_minor != i.unit_price_minor]
        if changed:
            raise CartRuleError("Prices changed since you added these items; review and "
                                "acknowledge them.", slug="price-changed", status=409, changes=changed)
        if priced.quote.rejected_codes:
            raise CartRuleError("A promo code on the cart does not apply; remove it or change the "
                                "cart.", slug="promo-code-not-applicable", status=409,
                                codes=[{"code": c, "reason": r} for c, r in priced.quote.rejected_codes])
        stock = self.stock.available([i.sku for i in doc.items])
        short = [{"product_id": i.product_id, "requested": i.quantity, "available": stock[i.sku]}
                 for i in doc.items if stock.get(i.sku) is not None and stock[i.sku] < i.quantity]  # type: ignore[operator]
        if short:
            raise CartRuleError("Some items are not in stock in that quantity.",
                                slug="insufficient-stock", status=409, shortages=short)

    def _snapshot(self, priced: Priced, user: Shopper, now: datetime) -> SnapshotPublic:
        doc, q = priced.doc, priced.quote
        by_id = {i.product_id: i for i in doc.items}
        lines = [SnapshotLine(product_id=x.product_id, sku=x.sku, title=by_id[x.product_id].title,
                              category=(priced.products[x.product_id].categories or (None,))[0],
                              quantity=x.quantity, unit_price_minor=x.unit_price_minor,
                              subtotal_minor=x.subtotal_minor, discount_minor=x.discount_minor,
                              total_minor=x.total_minor) for x in q.lines]
        applied = [AppliedPromotionPublic(promotion_id=a.promotion_id, name=a.name, kind=a.kind,
                                          saved_minor=a.saved_minor, code=a.code,
                                          campaign_id=a.campaign_id) for a in q.applied]
        return SnapshotPublic(
            id=str(uuid.uuid4()), cart_id=doc.cart_id, user_id=user.user_id or "",
            session_id=doc.session_id, status="pending", order_id=None, currency=doc.currency,
            lines=lines, subtotal_minor=q.subtotal_minor, discount_minor=q.discount_minor,
            shipping_minor=q.shipping_minor, shipping_discount_minor=q.shipping_discount_minor,
            total_minor=q.total_minor, promotions=applied,
            promo_codes=[a.code for a in q.applied if a.code],
            campaign_ids=list(dict.fromkeys(a.campaign_id for a in q.applied if a.campaign_id)),
            created_at=now, expires_at=now + timedelta(seconds=self.settings.snapshot_ttl_s))

    def snapshot(self, snapshot_id: str, actor: Identity) -> SnapshotPublic:
        stored = self.store.load_snapshot(snapshot_id)
        if stored is None or not self._may_see(stored, actor):
            raise NotFound("No such checkout snapshot.")
        return stored.snapshot

    @staticmethod
    def _may_see(stored: StoredSnapshot, actor: Identity) -> bool:
        return actor.is_admin or stored.snapshot.user_id == actor.user_id

    def accept(self, snapshot_id: str, order_id: str, actor: Identity) -> SnapshotPublic:
        """The orders service accepted the order: only now does the cart lose those lines.
        Accepting again with the same order id is a no-op."""

        def decide(stored: StoredSnapshot, cart: CartDoc | None):  # type: ignore[no-untyped-def]
            snap = stored.snapshot
            if not self._may_see(stored, actor):
                raise NotFound("No such checkout snapshot.")
            if snap.status == "accepted" and snap.order_id == order_id:
                return None
            if snap.status != "pending":
                raise Conflict(f"The snapshot is {snap.status}"
                               + (f" by order {snap.order_id}." if snap.order_id else "."),
                               slug=f"snapshot-{snap.status}")
            now = self.clock()
            if now >= snap.expires_at:
                raise Conflict("The snapshot has expired; check out again.", slug="snapshot-expired")
            done = stored.model_copy(update={"snapshot": snap.model_copy(
                update={"status": "accepted", "order_id": order_id})})
            if cart is not None:
                bought = {line.product_id: line.quantity for line in snap.lines}
                cart.items = [i.model_copy(update={"quantity": i.quantity - bought.get(i.product_id, 0)})
                              for i in cart.items if i.quantity > bought.get(i.product_id, 0)]
                cart.codes = [c for c in cart.codes if c not in snap.promo_codes]
                cart.updated_at, cart.abandoned_at = now, None
            checked_out = events.CartCheckedOut(
                cart_id=snap.cart_id, session_id=snap.session_id, user_id=snap.user_id,
                order_id=order_id, item_count=sum(line.quantity for line in snap.lines),
                subtotal_minor=snap.subtotal_minor, currency=snap.currency)
            return done, cart, [checked_out], []

        return self._finish(snapshot_id, decide)

    def release(self, snapshot_id: str, actor: Identity | None, *, to: str = "released") -> SnapshotPublic:
        """The order failed or never came: the snapshot is void, the promotions' usage is given
        back and the cart is untouched. Releasing again is a no-op."""

        def decide(stored: StoredSnapshot, cart: CartDoc | None):  # type: ignore[no-untyped-def]
            snap = stored.snapshot
            if actor is not None and not self._may_see(stored, actor):
                raise NotFound("No such checkout snapshot.")
            if snap.status in ("released", "expired"):
                return None
            if snap.status == "accepted":
                raise Conflict(f"The snapshot was accepted by order {snap.order_id}.",
                               slug="snapshot-accepted")
            done = stored.model_copy(update={"snapshot": snap.model_copy(update={"status": to})})
            return done, None, [], stored.claims

        return self._finish(snapshot_id, decide)

    def _finish(self, snapshot_id: str, decide) -> SnapshotPublic:  # type: ignore[no-untyped-def]
        stored = self.store.load_snapshot(snapshot_id)
        if stored is None:
            raise NotFound("No such checkout snapshot.")
        done = self.store.finish_snapshot(
            snapshot_id, decide, usage_key=USAGE, user_usage_key=user_usage_key(stored.snapshot.user_id),
            cart_ttl_s=self.settings.user_cart_ttl_s, keep_s=SNAPSHOT_KEEP_S)
        if done is None:
            raise NotFound("No such checkout snapshot.")
        return done.snapshot

    # --- sweeps (run by the cart sweeper process) -------------------------------------------
    def sweep(self) -> dict[str, int]:
        return {"abandoned": self.sweep_abandoned(), "snapshots_expired": self.expire_snapshots()}

    def sweep_abandoned(self) -> int:
        """Announce carts with items idle longer than `abandon_after_s`, once per idle spell."""
        now = self.clock()
        announced = 0
        cutoff = (now - timedelta(seconds=self.settings.abandon_after_s)).timestamp()
        for key in self.store.idle_carts(cutoff):
            fired: list[EventData] = []

            def mutate(doc: CartDoc | None, fired: list[EventData] = fired):  # type: ignore[no-untyped-def]
                if doc is None or not doc.items or (doc.abandoned_at and doc.abandoned_at >= doc.updated_at):
                    return doc, []
                doc.abandoned_at = now
                fired.append(events.CartAbandoned(
                    **self._event_base(doc), item_count=sum(i.quantity for i in doc.items),
                    subtotal_minor=sum(i.quantity * i.unit_price_minor for i in doc.items),
                    currency=doc.currency, campaign_id=doc.campaign_id))
                return doc, fired

            self.store.change(key, mutate, ttl_s=None)
            self.store.forget_activity(key)  # back on the list at its next change
            announced += len(fired)
        return announced

    def expire_snapshots(self) -> int:
        expired = 0
        for snapshot_id in self.store.overdue_snapshots(self.clock().timestamp()):
            try:
                stored = self.store.load_snapshot(snapshot_id)
                if stored is not None and stored.snapshot.status == "pending":
                    self.release(snapshot_id, None, to="expired")
                    expired += 1
            except (NotFound, Conflict):
                pass  # accepted or gone meanwhile
            self.store.forget_pending(snapshot_id)
        return expired
