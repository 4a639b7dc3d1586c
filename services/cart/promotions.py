"""Promotions, promo codes and their usage counters, in Redis.

Why Redis and not a small SQL database: the cart already lives in Redis and must read every
active promotion on every cart read, so keeping promotions beside it means one store, one
failure mode and no extra hop; there are hundreds of promotions at most (a hash of JSON
records), admins change them rarely, and usage limits need atomic counters that Redis gives
(`HINCRBY`, and the checkout's Lua script that checks and counts in one step). The history
marketers need (which campaign saved how much on which order) lives in the events, not here.

Each process caches the parsed promotions and re-reads them only when `cart:promo:version`
moves (one GET per cart read), which keeps pricing a 50-line cart with 20 promotions in
well under a millisecond of Redis time.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from datetime import UTC, datetime
from threading import Lock

from pydantic import ValidationError
from redis import Redis, WatchError

from services.cart.domain import BP, Kind, Promotion, Usage
from services.cart.schemas import PromotionCreate, PromotionFields, PromotionPublic, PromotionUpdate
from services.platform.errors import Conflict, InvalidInput, NotFound

ALL = "cart:promo:all"
CODES = "cart:promo:codes"
VERSION = "cart:promo:version"
USAGE = "cart:usage"


def user_usage_key(user_id: str | None) -> str:
    return f"cart:usage:u:{user_id or '-'}"


def to_domain(p: PromotionPublic) -> Promotion:
    return Promotion(
        id=p.id, name=p.name, kind=p.kind, scope=p.scope, targets=frozenset(p.targets),
        percent_bp=int((p.percent or 0) * 100), amount_minor=p.amount_minor or 0,
        buy_quantity=p.buy_quantity or 0, get_quantity=p.get_quantity or 0,
        get_percent_bp=int(p.get_percent * 100) if p.kind is Kind.BUY_X_GET_Y else BP,
        min_subtotal_minor=p.min_subtotal_minor, currency=p.currency, code=p.code,
        user_id=p.user_id, starts_at=p.starts_at, ends_at=p.ends_at, usage_limit=p.usage_limit,
        per_user_limit=p.per_user_limit, priority=p.priority, exclusive=p.exclusive,
        active=p.active, campaign_id=p.campaign_id)


class PromotionBook:
    def __init__(self, redis: Redis):
        self.redis = redis
        self._lock = Lock()
        self._version: bytes | None = None
        self._cached: list[Promotion] = []

    # --- reads ------------------------------------------------------------------------------
    def active(self) -> list[Promotion]:
        """Every active promotion, as domain objects (cached until the version moves)."""
        version = self.redis.get(VERSION) or b"0"
        if version != self._version:
            with self._lock:
                records = self._records()
                self._cached = [to_domain(r) for r in records if r.active]
                self._version = version
        return self._cached

    def _records(self) -> list[PromotionPublic]:
        return [PromotionPublic.model_validate_json(v) for v in self.redis.hgetall(ALL).values()]

    def list(self) -> list[PromotionPublic]:
        records = sorted(self._records(), key=lambda r: (r.created_at, r.id))
        used = self.usage([r.id for r in records], None).total
        return [r.model_copy(update={"used": used.get(r.id, 0)}) for r in records]

    def get(self, promotion_id: str) -> PromotionPublic:
        raw = self.redis.hget(ALL, promotion_id)
        if raw is None:
            raise NotFound("No such promotion.")
        record = PromotionPublic.model_validate_json(raw)
        used = self.usage([promotion_id], None).total.get(promotion_id, 0)
        return record.model_copy(update={"used": used})

    def by_code(self, code: str) -> Promotion | None:
        promotion_id = self.redis.hget(CODES, code)
        return None if promotion_id is None else to_domain(self.get(promotion_id.decode()))

    def offers_for(self, user_id: str) -> list[PromotionPublic]:
        return [r for r in self.list() if r.user_id == user_id and r.active]

    def usage(self, promotion_ids: Iterable[str], user_id: str | None) -> Usage:
        ids = list(promotion_ids)
        if not ids:
            return Usage()
        pipe = self.redis.pipeline(transaction=False)
        pipe.hmget(USAGE, ids)
        pipe.hmget(user_usage_key(user_id), ids)
        total, mine = pipe.execute()
        return Usage({i: int(v) for i, v in zip(ids, total, strict=True) if v},
                     {i: int(v) for i, v in zip(ids, mine, strict=True) if v} if user_id else {})

    # --- admin writes -----------------------------------------------------------------------
    def create(self, data: PromotionCreate) -> PromotionPublic:
        now = datetime.now(UTC)
        record = PromotionPublic(**data.model_dump(), id=str(uuid.uuid4()), created_at=now,
                                 updated_at=now)
        return self._write(record, old_code=None)

    def put(self, promotion_id: str, data: PromotionCreate) -> PromotionPublic:
        """Create or replace the promotion with this id (personal offers keep their offer id)."""
        now = datetime.now(UTC)
        try:
            current = self.get(promotion_id)
        except NotFound:
            current = None
        record = PromotionPublic(**data.model_dump(), id=promotion_id,
                                 created_at=current.created_at if current else now, updated_at=now)
        return self._write(record, old_code=current.code if current else None)

    def update(self, promotion_id: str, changes: PromotionUpdate) -> PromotionPublic:
        current = self.get(promotion_id)
        merged = {**current.model_dump(exclude={"id", "created_at", "updated_at", "used"}),
                  **changes.model_dump(exclude_unset=True)}
        try:  # the result must still be a consistent promotion
            fields = PromotionFields.model_validate(merged)
        except ValidationError as exc:
            errors = [{"field": ".".join(map(str, e["loc"])) or "body", "message": e["msg"]}
                      for e in exc.errors()]
            raise InvalidInput("; ".join(e["message"] for e in errors), errors=errors) from None
        record = PromotionPublic(**fields.model_dump(), id=promotion_id,
                                 created_at=current.created_at, updated_at=datetime.now(UTC))
        return self._write(record, old_code=current.code)

    def _write(self, record: PromotionPublic, *, old_code: str | None) -> PromotionPublic:
        """Store a promotion and claim its code, refusing a code another promotion holds."""
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(CODES)
                    if record.code and record.code != old_code:
                        holder = pipe.hget(CODES, record.code)
                        if holder is not None and holder.decode() != record.id:
                            pipe.reset()
                            raise Conflict(f"The code {record.code} belongs to another promotion.",
                                           slug="code-taken")
                    pipe.multi()
                    if old_code and old_code != record.code:
                        pipe.hdel(CODES, old_code)
                    if record.code:
                        pipe.hset(CODES, record.code, record.id)
                    pipe.hset(ALL, record.id, record.model_dump_json(exclude={"used"}))
                    pipe.incr(VERSION)
                    pipe.execute()
                    return record
                except WatchError:
                    continue

    def delete(self, promotion_id: str) -> None:
        current = self.get(promotion_id)
        pipe = self.redis.pipeline()
        pipe.hdel(ALL, promotion_id)
        if current.code:
            pipe.hdel(CODES, current.code)
        pipe.incr(VERSION)
        pipe.execute()
