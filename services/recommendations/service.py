"""Use cases of the recommendations service: shelves from the publication in service, and the
marketers' personal offers."""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime

import orjson
import structlog
from redis import Redis

from services.platform.errors import InvalidInput, NotFound, Unavailable
from services.platform.events import make_event
from services.platform.outbox import STREAM_MAXLEN
from services.recommendations import domain
from services.recommendations.events import SOURCE, STREAM, OfferGranted
from services.recommendations.schemas import (
    GrantSummary,
    OfferPublic,
    OfferRuleCreate,
    OfferRuleFields,
    OfferRulePublic,
    OfferRuleUpdate,
    PublicationStatus,
    RecommendationList,
    Recommended,
)
from services.recommendations.store import (
    OFFER_RULES,
    OUT_OF_STOCK,
    OUT_OF_STOCK_VERSION,
    Meta,
    PublishedStore,
    Ranked,
    offers_key,
)

log = structlog.get_logger("recommendations")


def _shelf(meta: Meta, ranked: Ranked, source: str) -> RecommendationList:
    items = [Recommended(product_id=i, score=s) for i, s in ranked]
    popular = source in ("popular", "category_popular")
    model = f"popularity@{meta.model_version}" if popular else meta.model
    return RecommendationList(items=items, total=len(items), model=model,
                              source=source, publication=meta.publication)  # type: ignore[arg-type]


class Recommendations:
    """Shelves: every answer is a filtered precomputed list, topped up from popularity."""

    def __init__(self, store: PublishedStore):
        self.store = store

    def meta(self) -> Meta:
        meta = self.store.current()
        if meta is None:
            raise Unavailable("No recommendations have been published yet (materialise the Dagster "
                              "`recommendations` group).", slug="recommendations-not-published")
        return meta

    def for_user(self, user_id: str, limit: int) -> RecommendationList:
        """Personal top-N; a shopper the model has not seen gets neighbours of what they bought
        since, else the popular items (cold start)."""
        meta = self.meta()
        ranked, bought, oos = self.store.user_view(meta, user_id)
        exclude = bought | oos
        source = "personal"
        if ranked is None and bought:
            ranked = domain.merge_ranked(self.store.lists(meta, "similar", sorted(bought)),
                                         exclude=exclude, limit=limit)
            source = "similar_to_purchases"
        if not ranked:
            return _shelf(meta, domain.filter_ranked(meta.popular, exclude=exclude, limit=limit),
                          "popular")
        chosen = domain.filter_ranked(ranked, exclude=exclude, limit=limit)
        return _shelf(meta, domain.top_up(chosen, meta.popular, exclude=exclude, limit=limit), source)

    def popular(self, limit: int, category: str | None = None) -> RecommendationList:
        meta = self.meta()
        oos = self.store.out_of_stock(self.store.redis.get(OUT_OF_STOCK_VERSION))
        if category:
            ranked = self.store.category_popular(meta, category)
            if not ranked:
                raise NotFound(f"No category {category!r} in the published catalogue.")
            return _shelf(meta, domain.filter_ranked(ranked, exclude=oos, limit=limit), "category_popular")
        return _shelf(meta, domain.filter_ranked(meta.popular, exclude=oos, limit=limit), "popular")

    def for_item(self, product_id: str, kind: str, limit: int, user_id: str | None) -> RecommendationList:
        """`similar` or `fbt` neighbours of one item. An item nobody interacted with has text
        neighbours (TF-IDF, `content`); one created after the last publication gets the popular
        items of its category; an id the catalogue never announced is a 404."""
        meta = self.meta()
        lists, cats, bought, oos = self.store.item_lists(meta, kind, [product_id], user_id)
        if cats[0] is None and lists[0] is None:
            raise NotFound(f"Unknown product {product_id!r}.", slug="unknown-product")
        exclude = bought | oos | {product_id}
        if lists[0] is not None:
            ranked, src = lists[0]
            source = src or ("similar" if kind == "similar" else "bought_together")
            chosen = domain.filter_ranked(ranked, exclude=exclude, limit=limit)
            if kind == "fbt":  # "bought together" is only what really was; no padding
                return _shelf(meta, chosen, source)
            fallback = self.store.category_popular(meta, cats[0]) if cats[0] else meta.popular
            return _shelf(meta, domain.top_up(chosen, fallback, exclude=exclude, limit=limit), source)
        if kind == "fbt":
            return _shelf(meta, [], "bought_together")
        ranked = self.store.category_popular(meta, cats[0]) if cats[0] else []
        chosen = domain.filter_ranked(ranked, exclude=exclude, limit=limit)
        return _shelf(meta, domain.top_up(chosen, meta.popular, exclude=exclude, limit=limit),
                      "category_popular")

    def for_cart(self, product_ids: list[str], limit: int, user_id: str | None) -> RecommendationList:
        """Neighbours of every cart item (bought-together first, then similar) merged by rank;
        the cart's own items, bought and out-of-stock ones excluded; popularity fills the rest."""
        meta = self.meta()
        items = list(dict.fromkeys(product_ids))
        fbt, _, bought, oos = self.store.item_lists(meta, "fbt", items, user_id)
        similar = self.store.lists(meta, "similar", items)
        exclude = bought | oos | set(items)
        lists = [got[0] for got in fbt if got] + similar
        merged = domain.merge_ranked(lists, exclude=exclude, limit=limit)
        if not merged:
            return _shelf(meta, domain.filter_ranked(meta.popular, exclude=exclude, limit=limit), "popular")
        return _shelf(meta, domain.top_up(merged, meta.popular, exclude=exclude, limit=limit), "cart")

    def status(self) -> PublicationStatus:
        meta = self.meta()
        return PublicationStatus(publication=meta.publication, model=meta.model,
                                 model_version=meta.model_version, published_at=meta.published_at,
                                 users=meta.users, items=meta.items,
                                 out_of_stock=int(self.store.redis.scard(OUT_OF_STOCK)))


class Offers:
    """Offer rules (marketers) and the personal offers granted from them."""

    def __init__(self, redis: Redis):
        self.redis = redis

    # --- rules ------------------------------------------------------------------------------
    def rules(self) -> list[OfferRulePublic]:
        records = [OfferRulePublic.model_validate_json(v) for v in self.redis.hgetall(OFFER_RULES).values()]
        return sorted(records, key=lambda r: (r.created_at, r.id))

    def rule(self, rule_id: str) -> OfferRulePublic:
        raw = self.redis.hget(OFFER_RULES, rule_id)
        if raw is None:
            raise NotFound(f"No offer rule {rule_id!r}.")
        return OfferRulePublic.model_validate_json(raw)

    def create_rule(self, body: OfferRuleCreate) -> OfferRulePublic:
        now = datetime.now(UTC)
        record = OfferRulePublic(**body.model_dump(), id=str(uuid.uuid4()), created_at=now, updated_at=now)
        self.redis.hset(OFFER_RULES, record.id, record.model_dump_json())
        return record

    def update_rule(self, rule_id: str, changes: OfferRuleUpdate) -> OfferRulePublic:
        current = self.rule(rule_id)
        merged = {**current.model_dump(exclude={"id", "created_at", "updated_at"}),
                  **changes.model_dump(exclude_unset=True)}
        try:
            fields = OfferRuleFields.model_validate(merged)  # the result must stay consistent
        except ValueError as exc:
            raise InvalidInput(f"The rule would become inconsistent: {exc}") from exc
        record = OfferRulePublic(**fields.model_dump(), id=rule_id, created_at=current.created_at,
                                 updated_at=datetime.now(UTC))
        self.redis.hset(OFFER_RULES, rule_id, record.model_dump_json())
        return record

    def delete_rule(self, rule_id: str) -> None:
        if not self.redis.hdel(OFFER_RULES, rule_id):
            raise NotFound(f"No offer rule {rule_id!r}.")

    # --- offers -----------------------------------------------------------------------------
    def offers_for(self, user_id: str, *, now: datetime | None = None) -> list[OfferPublic]:
        """The shopper's offers that are still valid, newest first."""
        now = now or datetime.now(UTC)
        offers = [OfferPublic.model_validate_json(v) for v in self.redis.hvals(offers_key(user_id))]
        return sorted((o for o in offers if o.ends_at > now), key=lambda o: o.starts_at, reverse=True)

    def grant(self, customers: Iterable[tuple[str, str]], *, now: datetime | None = None,
              snapshot: str | None = None) -> GrantSummary:
        """Grant the offers the active rules give each (user, segment), and announce each one
        on the bus in the same Redis transaction that stores it (the event exists iff the offer
        does). A customer still holding an unexpired offer of a rule is skipped."""
        now = now or datetime.now(UTC)
        customers = list(customers)
        rules = [_to_rule(r) for r in self.rules()]
        held = self._held_rules([u for u, _ in customers], now)
        offers = domain.grant_offers(rules=rules, customers=customers, held=held, now=now)
        by_campaign: dict[str, int] = {}
        pipe = self.redis.pipeline(transaction=True)
        for n, offer in enumerate(offers, start=1):
            payload = OfferGranted(**{k: getattr(offer, k) for k in OfferGranted.model_fields})
            event = make_event(payload, source=SOURCE, subject=offer.user_id).model_copy(
                update={"id": offer.offer_id})
            pipe.hset(offers_key(offer.user_id), offer.offer_id, payload.model_dump_json())
            pipe.xadd(STREAM, {"event": event.to_json()}, maxlen=STREAM_MAXLEN, approximate=True)
            by_campaign[offer.campaign_id] = by_campaign.get(offer.campaign_id, 0) + 1
            if n % 500 == 0:
                pipe.execute()
        pipe.execute()
        already = sum(len(v) for v in held.values())
        log.info("offers_granted", granted=len(offers), customers=len(customers), snapshot=snapshot)
        return GrantSummary(granted=len(offers), already_held=already, customers=len(customers),
                            by_campaign=by_campaign, snapshot=snapshot)

    def _held_rules(self, users: list[str], now: datetime) -> dict[str, set[str]]:
        pipe = self.redis.pipeline(transaction=False)
        for user in users:
            pipe.hvals(offers_key(user))
        held: dict[str, set[str]] = {}
        for user, values in zip(users, pipe.execute(), strict=True):
            for raw in values:
                body = orjson.loads(raw)
                if datetime.fromisoformat(body["ends_at"]) > now:
                    held.setdefault(user, set()).add(body["rule_id"])
        return held


def _to_rule(r: OfferRulePublic) -> domain.OfferRule:
    return domain.OfferRule(id=r.id, name=r.name, segment=r.segment, kind=r.kind, percent=r.percent,
                            amount_minor=r.amount_minor, currency=r.currency,
                            min_subtotal_minor=r.min_subtotal_minor, valid_days=r.valid_days,
                            campaign_id=r.campaign_id, active=r.active)

