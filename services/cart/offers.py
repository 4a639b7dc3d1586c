"""Personal offers from the recommendations side become personal promotions in the cart.

`python -m services.cart.offers` (run by `shop up`) follows `shop:events:recommendations` in
its own consumer group; each `recommendation.offer_granted` is stored as a promotion whose id is
the offer id, scoped to the whole cart, for that one shopper, usable once. Writing by id makes
a redelivered grant a harmless overwrite, and the consumer's processed-id record skips it anyway.
"""

from __future__ import annotations

from decimal import Decimal

import structlog

from services.cart.domain import Kind, Scope
from services.cart.events import OFFERS_GROUP, OFFERS_STREAM, OfferGrantedView
from services.cart.promotions import PromotionBook
from services.cart.schemas import PromotionCreate
from services.cart.settings import CartSettings
from services.platform.consumer import Consumer, RedisIdempotency
from services.platform.events import Event
from services.platform.logging import configure_logging
from services.platform.redis import resolve_redis_url, sync_client
from services.platform.worker import stop_on_signals

log = structlog.get_logger("cart-offers")
OFFER_GRANTED = "recommendation.offer_granted"


def promotion_for(offer: OfferGrantedView) -> PromotionCreate:
    percent = offer.kind == "percent"
    return PromotionCreate(
        name=offer.name, kind=Kind.PERCENT if percent else Kind.FIXED, scope=Scope.CART,
        percent=Decimal(offer.percent_bp) / 100 if percent else None,
        amount_minor=None if percent else offer.amount_minor,
        currency=offer.currency, min_subtotal_minor=offer.min_subtotal_minor,
        user_id=offer.user_id, starts_at=offer.starts_at, ends_at=offer.ends_at,
        per_user_limit=1, campaign_id=offer.campaign_id)


def handler(book: PromotionBook):  # type: ignore[no-untyped-def]
    def handle(event: Event, _session: object) -> None:
        if event.type != OFFER_GRANTED:
            return
        offer = OfferGrantedView.model_validate(event.data)
        book.put(offer.offer_id, promotion_for(offer))
        log.info("offer_stored", offer_id=offer.offer_id, user_id=offer.user_id,
                 campaign_id=offer.campaign_id)

    return handle


def consumer(settings: CartSettings) -> Consumer:
    redis = sync_client(resolve_redis_url(settings.redis_url, settings.data_dir))
    return Consumer(redis, group=OFFERS_GROUP, streams=[OFFERS_STREAM],
                    handler=handler(PromotionBook(redis)),
                    idempotency=RedisIdempotency(redis, OFFERS_GROUP))


def main() -> None:
    settings = CartSettings()
    configure_logging("cart-offers", settings.log_level)
    stop = stop_on_signals()
    consumer(settings).run(stop)


if __name__ == "__main__":
    main()
