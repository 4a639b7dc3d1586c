"""Carts and checkout snapshots in Redis (the cart service has no SQL database).

Keys (all prefixed `cart:`): `cart:c:u:<user id>` and `cart:c:g:<sha256 of the guest token>`
hold a cart as JSON (the raw guest token is never stored, so a Redis dump cannot be replayed
as carts); `cart:activity` is a sorted set of cart keys by last change, read by the
abandonment sweep; `cart:snap:<id>` holds a checkout snapshot, `cart:snaps:pending` the
snapshots not yet accepted by expiry time, `cart:idem:<user>:<key>` an Idempotency-Key's snapshot.

Why MULTI/EXEC is our outbox: every change is read under WATCH, computed, then written with
`SET` + `XADD shop:events:cart` in one MULTI/EXEC. Redis runs the block atomically (no other
client's command interleaves, and it is all-or-nothing on the dataset and in the AOF), so the
event is on the stream if and only if the cart changed; if another writer touched the cart
meanwhile, EXEC aborts and the change is recomputed (optimistic locking, no lost updates). A
separate outbox + relay would add nothing but latency here, because the store *is* the bus.
Consumers still deduplicate by event id, like for every other stream.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Sequence
from datetime import datetime

from pydantic import BaseModel, Field
from redis import Redis, WatchError

from services.cart.events import SOURCE
from services.cart.schemas import SnapshotPublic
from services.platform.events import EventData, make_event, stream_for
from services.platform.outbox import STREAM_MAXLEN

STREAM = stream_for(SOURCE)
ACTIVITY = "cart:activity"
PENDING = "cart:snaps:pending"


class Item(BaseModel):
    product_id: str
    sku: str
    title: str = ""
    quantity: int
    unit_price_minor: int
    """The price the shopper last saw and accepted; a different catalog price is flagged."""
    currency: str
    categories: list[str] = Field(default_factory=list)
    added_at: datetime


class CartDoc(BaseModel):
    cart_id: str
    user_id: str | None = None
    session_id: str | None = None
    currency: str
    items: list[Item] = Field(default_factory=list)
    saved: list[Item] = Field(default_factory=list)
    codes: list[str] = Field(default_factory=list)
    campaign_id: str | None = None
    created_at: datetime
    updated_at: datetime
    abandoned_at: datetime | None = None

    def item(self, product_id: str) -> Item | None:
        return next((i for i in self.items if i.product_id == product_id), None)


class StoredSnapshot(BaseModel):
    snapshot: SnapshotPublic
    cart_key: str
    claims: list[str] = Field(default_factory=list)
    """Promotions whose usage this checkout counted (given back if it is never accepted)."""


def user_cart_key(user_id: str) -> str:
    return f"u:{user_id}"


def guest_cart_key(token: str) -> str:
    return "g:" + hashlib.sha256(token.encode()).hexdigest()


def _rk(cart_key: str) -> str:
    return f"cart:c:{cart_key}"


def _snap(snapshot_id: str) -> str:
    return f"cart:snap:{snapshot_id}"


Mutation = Callable[[CartDoc | None], tuple[CartDoc | None, Sequence[EventData]]]
"""Gets the current cart (None if there is none), returns the new one (None deletes it) and the
events that describe the change."""

# Claims usage for every promotion of a checkout and stores the snapshot, atomically; refuses
# (and changes nothing) when a limit was reached meanwhile. Replays return the first snapshot id.
_CHECKOUT = """
local prior = redis.call('GET', KEYS[1])
if prior then return {'replay', prior} end
for i = 6, #ARGV, 3 do
  local id, limit, ulimit = ARGV[i], tonumber(ARGV[i + 1]), tonumber(ARGV[i + 2])
  if limit >= 0 and tonumber(redis.call('HGET', KEYS[4], id) or '0') >= limit then
    return {'code-exhausted', id} end
  if ulimit >= 0 and tonumber(redis.call('HGET', KEYS[5], id) or '0') >= ulimit then
    return {'code-limit-reached', id} end
end
for i = 6, #ARGV, 3 do
  redis.call('HINCRBY', KEYS[4], ARGV[i], 1)
  redis.call('HINCRBY', KEYS[5], ARGV[i], 1)
end
redis.call('SET', KEYS[2], ARGV[2], 'EX', ARGV[3])
redis.call('ZADD', KEYS[3], ARGV[4], ARGV[1])
redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[5])
return {'created', ARGV[1]}
"""


class CartStore:
    def __init__(self, redis: Redis):
        self.redis = redis
        self._checkout = redis.register_script(_CHECKOUT)

    # --- carts ------------------------------------------------------------------------------
    def load(self, cart_key: str) -> CartDoc | None:
        raw = self.redis.get(_rk(cart_key))
        return CartDoc.model_validate_json(raw) if raw else None

    def change(self, cart_key: str, mutate: Mutation, *, ttl_s: int | None,
               absorb: str | None = None) -> CartDoc | None:
        """Apply `mutate` under WATCH and write the cart and its events in one MULTI/EXEC,
        retrying when a concurrent writer got there first. `ttl_s=None` keeps the key's TTL.
        `absorb` names a cart (a guest's, on login) that is watched too and deleted in the same
        transaction; `mutate` then receives it as `absorbed`."""
        key = _rk(cart_key)
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(key, *([_rk(absorb)] if absorb else []))
                    raw = pipe.get(key)
                    doc = CartDoc.model_validate_json(raw) if raw else None
                    if absorb:
                        other = pipe.get(_rk(absorb))
                        absorbed = CartDoc.model_validate_json(other) if other else None
                        new, events = mutate(doc, absorbed)  # type: ignore[call-arg]
                    else:
                        new, events = mutate(doc)
                    pipe.multi()
                    if new is None:
                        pipe.delete(key)
                        pipe.zrem(ACTIVITY, cart_key)
                    else:
                        if ttl_s is None:
                            pipe.set(key, new.model_dump_json(), keepttl=True)
                        else:
                            pipe.set(key, new.model_dump_json(), ex=ttl_s)
                        pipe.zadd(ACTIVITY, {cart_key: new.updated_at.timestamp()})
                    if absorb:
                        pipe.delete(_rk(absorb))
                        pipe.zrem(ACTIVITY, absorb)
                    self._emit(pipe, events, subject=new.cart_id if new else None)
                    pipe.execute()
                    return new
                except WatchError:
                    continue

    @staticmethod
    def _emit(pipe: object, events: Sequence[EventData], *, subject: str | None) -> None:
        for data in events:
            event = make_event(data, source=SOURCE, subject=getattr(data, "cart_id", subject))
            pipe.xadd(STREAM, {"event": event.to_json()}, maxlen=STREAM_MAXLEN,  # type: ignore[attr-defined]
                      approximate=True)

    def idle_carts(self, older_than: float, limit: int = 500) -> list[str]:
        return [k.decode() for k in self.redis.zrangebyscore(ACTIVITY, "-inf", older_than, 0, limit)]

    def forget_activity(self, cart_key: str) -> None:
        self.redis.zrem(ACTIVITY, cart_key)

    # --- snapshots --------------------------------------------------------------------------
    def create_snapshot(
        self, stored: StoredSnapshot, *, idempotency: str, usage_key: str, user_usage_key: str,
        limits: Sequence[tuple[str, int | None, int | None]], ttl_s: int, idempotency_ttl_s: int,
    ) -> tuple[str, str]:
        """Returns (outcome, snapshot id or promotion id): outcome is `created`, `replay`,
        `code-exhausted` or `code-limit-reached`."""
        snap = stored.snapshot
        args: list[object] = [snap.id, stored.model_dump_json(), ttl_s, snap.expires_at.timestamp(),
                              idempotency_ttl_s]
        for promo_id, limit, user_limit in limits:
            args += [promo_id, -1 if limit is None else limit, -1 if user_limit is None else user_limit]
        outcome, value = self._checkout(
            keys=[idempotency, _snap(snap.id), PENDING, usage_key, user_usage_key], args=args)
        return outcome.decode(), value.decode()

    def load_snapshot(self, snapshot_id: str) -> StoredSnapshot | None:
        raw = self.redis.get(_snap(snapshot_id))
        return StoredSnapshot.model_validate_json(raw) if raw else None

    def finish_snapshot(
        self, snapshot_id: str,
        decide: Callable[[StoredSnapshot, CartDoc | None],
                         tuple[StoredSnapshot, CartDoc | None, Sequence[EventData], list[str]] | None],
        *, usage_key: str, user_usage_key: str, cart_ttl_s: int, keep_s: int,
    ) -> StoredSnapshot | None:
        """Move a snapshot to its final state and update its cart, atomically. `decide` returns
        (snapshot, cart, events, usage claims to give back) or None when nothing is to change."""
        skey = _snap(snapshot_id)
        with self.redis.pipeline() as pipe:
            while True:
                try:
                    pipe.watch(skey)
                    raw = pipe.get(skey)
                    if raw is None:
                        return None
                    stored = StoredSnapshot.model_validate_json(raw)
                    ckey = _rk(stored.cart_key)
                    pipe.watch(ckey)
                    craw = pipe.get(ckey)
                    outcome = decide(stored, CartDoc.model_validate_json(craw) if craw else None)
                    if outcome is None:
                        return stored
                    new, cart, events, give_back = outcome
                    pipe.multi()
                    pipe.set(skey, new.model_dump_json(), ex=keep_s)
                    pipe.zrem(PENDING, snapshot_id)
                    if cart is not None:
                        pipe.set(ckey, cart.model_dump_json(), ex=cart_ttl_s)
                        pipe.zadd(ACTIVITY, {stored.cart_key: cart.updated_at.timestamp()})
                    for promo_id in give_back:
                        pipe.hincrby(usage_key, promo_id, -1)
                        pipe.hincrby(user_usage_key, promo_id, -1)
                    self._emit(pipe, events, subject=stored.snapshot.cart_id)
                    pipe.execute()
                    return new
                except WatchError:
                    continue

    def forget_pending(self, snapshot_id: str) -> None:
        self.redis.zrem(PENDING, snapshot_id)

    def overdue_snapshots(self, now: float, limit: int = 500) -> list[str]:
        return [k.decode() for k in self.redis.zrangebyscore(PENDING, "-inf", now, 0, limit)]
