"""Rules of serving and of personal offers. Pure functions, no I/O.

Serving works on precomputed ranked lists (published nightly by the pipeline); a request only
filters and merges them: items the shopper already bought or that are out of stock never show,
and a list that runs dry is topped up from the popularity list, so a shelf is never empty while
the catalogue has sellable items.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

Ranked = Sequence[tuple[str, float]]

SEGMENTS = ("champions", "loyal", "new", "at_risk", "hibernating", "needs_attention")
"""RFM segments of `marts.rfm_segments`."""

OFFER_NAMESPACE = uuid.UUID("6d1c8a52-0f0e-4d55-9a55-5b1f3c0a7e11")


def filter_ranked(ranked: Ranked, *, exclude: Iterable[str], limit: int) -> list[tuple[str, float]]:
    """The first `limit` items of a ranked list that are not excluded (order kept)."""
    banned = exclude if isinstance(exclude, set | frozenset) else set(exclude)
    out: list[tuple[str, float]] = []
    for item, score in ranked:
        if item not in banned:
            out.append((item, score))
            if len(out) == limit:
                break
    return out


def top_up(
    ranked: list[tuple[str, float]], fallback: Ranked, *, exclude: Iterable[str], limit: int
) -> list[tuple[str, float]]:
    """Fill a short list from a fallback (popularity), skipping what it already holds.
    Fallback items score below every ranked item so the order stays meaningful."""
    if len(ranked) >= limit:
        return ranked[:limit]
    held = {item for item, _ in ranked} | set(exclude)
    floor = min((s for _, s in ranked), default=0.0)
    extra = filter_ranked(fallback, exclude=held, limit=limit - len(ranked))
    return ranked + [(item, round(floor - 1.0 - i * 1e-3, 6)) for i, (item, _) in enumerate(extra)]


def merge_ranked(lists: Iterable[Ranked], *, exclude: Iterable[str], limit: int) -> list[tuple[str, float]]:
    """Merge several ranked lists (e.g. neighbours of every cart item) by reciprocal rank:
    scores of different lists are not comparable, ranks are; an item near the top of many
    lists wins. Ties break on the item id so the answer is deterministic."""
    banned = set(exclude)
    scores: dict[str, float] = {}
    for ranked in lists:
        kept = (item for item, _ in ranked if item not in banned)  # rank among what can be shown
        for rank, item in enumerate(kept, start=1):
            scores[item] = scores.get(item, 0.0) + 1.0 / (rank + 1)
    best = sorted(scores.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
    return [(item, round(score, 6)) for item, score in best]


# --- personal offers ------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class OfferRule:
    id: str
    name: str
    segment: str
    kind: str
    percent: Decimal | None
    amount_minor: int | None
    currency: str | None
    min_subtotal_minor: int
    valid_days: int
    campaign_id: str
    active: bool = True


@dataclass(frozen=True, slots=True)
class Offer:
    offer_id: str
    user_id: str
    segment: str
    rule_id: str
    campaign_id: str
    name: str
    kind: str
    percent_bp: int | None
    amount_minor: int | None
    currency: str | None
    min_subtotal_minor: int
    starts_at: datetime
    ends_at: datetime


def offer_id(*, rule_id: str, user_id: str, starts_at: datetime) -> str:
    """Deterministic: granting again on the same day yields the same id (and event id), so a
    re-run cannot hand out a second offer that consumers would count twice."""
    return str(uuid.uuid5(OFFER_NAMESPACE, f"{rule_id}|{user_id}|{starts_at.date().isoformat()}"))


def grant_offers(
    *,
    rules: Sequence[OfferRule],
    customers: Iterable[tuple[str, str]],
    held: Mapping[str, set[str]],
    now: datetime,
) -> list[Offer]:
    """Offers to grant now: every (customer, segment) gets one offer per active rule of their
    segment, unless they still hold an unexpired offer of that rule (`held[user]` = rule ids)."""
    by_segment: dict[str, list[OfferRule]] = {}
    for rule in rules:
        if rule.active:
            by_segment.setdefault(rule.segment, []).append(rule)
    offers = []
    for user_id, segment in customers:
        for rule in by_segment.get(segment, ()):
            if rule.id in held.get(user_id, set()):
                continue
            offers.append(Offer(
                offer_id=offer_id(rule_id=rule.id, user_id=user_id, starts_at=now),
                user_id=user_id, segment=segment, rule_id=rule.id, campaign_id=rule.campaign_id,
                name=rule.name, kind=rule.kind,
                percent_bp=int(rule.percent * 100) if rule.percent is not None else None,
                amount_minor=rule.amount_minor, currency=rule.currency,
                min_subtotal_minor=rule.min_subtotal_minor,
                starts_at=now, ends_at=now + timedelta(days=rule.valid_days)))
    return offers
