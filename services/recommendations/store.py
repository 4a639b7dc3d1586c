"""Redis layout of the recommendations: the nightly publication (versioned, switched by a
pointer) and the live signals kept between two publications.

Why versioned keys and a pointer: a publication is hundreds of thousands of keys; readers must
never see half of the new one. The publisher writes everything under a new prefix, writes the
`meta` record last, then moves `recommendations:current` (one SET, atomic). The service only
switches to a publication whose `meta` is complete and parses; otherwise it keeps serving the
one it has (a corrupted or half-written publication never reaches shoppers). Older publications
are deleted after the switch, keeping the previous one for readers still mid-request.

Lists are stored as one JSON value per user/item (`{"i": [ids], "s": [scores]}`): one GET per
request, no per-item round trips.

    recommendations:current                    -> publication id (the pointer)
    recommendations:publications               -> list of publication ids, newest first
    recommendations:pub:<id>:meta              -> JSON: model, model_version, counts, complete
    recommendations:pub:<id>:user:<user>       -> top-N for a user the model knows
    recommendations:pub:<id>:similar:<item>    -> item neighbours (co-interaction, or TF-IDF text
                                                  for items nobody interacted with: `src`)
    recommendations:pub:<id>:fbt:<item>        -> frequently bought together (order co-occurrence)
    recommendations:pub:<id>:bought:<user>     -> SET of items the user bought (warehouse)
    recommendations:pub:<id>:popular           -> popularity list (cold start, top-up)
    recommendations:pub:<id>:popular:<category>
    recommendations:pub:<id>:items             -> HASH item -> category (the known catalogue)
    recommendations:sku_product                -> HASH sku -> product id (publisher + catalog events)
    recommendations:out_of_stock               -> SET of product ids (inventory events)
    recommendations:out_of_stock_skus          -> SET of SKUs (also those not mapped yet)
    recommendations:out_of_stock:version       -> counter, moved on every change (reader caches)
    recommendations:new_items                  -> HASH item -> category, created after publishing
    recommendations:bought:<user>              -> SET of items bought since (order events)
    recommendations:offer_rules                -> HASH rule id -> JSON rule
    recommendations:offers:<user>              -> HASH offer id -> JSON offer
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import orjson
import structlog
from redis import Redis

log = structlog.get_logger("recommendations.store")

PREFIX = "recommendations"
POINTER = f"{PREFIX}:current"
PUBLICATIONS = f"{PREFIX}:publications"
SKU_PRODUCT = f"{PREFIX}:sku_product"
OUT_OF_STOCK = f"{PREFIX}:out_of_stock"
OUT_OF_STOCK_SKUS = f"{PREFIX}:out_of_stock_skus"
OUT_OF_STOCK_VERSION = f"{PREFIX}:out_of_stock:version"
NEW_ITEMS = f"{PREFIX}:new_items"
OFFER_RULES = f"{PREFIX}:offer_rules"
BATCH = 1000

Ranked = list[tuple[str, float]]


def pub_key(publication: str, *parts: str) -> str:
    return ":".join((PREFIX, "pub", publication, *parts))


def live_bought_key(user_id: str) -> str:
    return f"{PREFIX}:bought:{user_id}"


def offers_key(user_id: str) -> str:
    return f"{PREFIX}:offers:{user_id}"


def encode_ranked(ranked: Iterable[tuple[str, float]], source: str | None = None) -> bytes:
    items = list(ranked)
    body: dict[str, Any] = {"i": [i for i, _ in items], "s": [round(float(s), 5) for _, s in items]}
    if source:
        body["src"] = source
    return orjson.dumps(body)


def decode_ranked(raw: bytes | None) -> tuple[Ranked, str | None] | None:
    """A stored list, or None when absent or unreadable (logged: serving falls back)."""
    if raw is None:
        return None
    try:
        body = orjson.loads(raw)
        return list(zip(body["i"], body["s"], strict=True)), body.get("src")
    except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
        log.warning("unreadable_list", error=str(exc)[:200])
        return None


# --- publishing -----------------------------------------------------------------------------
@dataclass
class Publication:
    """Everything one nightly run publishes (item and user ids are the shop's own ids)."""

    model: str
    """`<type>@<registry version>`: what clicks are attributed to."""
    model_version: str
    users: Mapping[str, Ranked]
    similar: Mapping[str, Ranked]
    similar_source: Mapping[str, str]
    """Per item: `similar` (co-interaction model) or `content` (TF-IDF, cold items)."""
    bought_together: Mapping[str, Ranked]
    bought: Mapping[str, Iterable[str]]
    popular: Ranked
    popular_by_category: Mapping[str, Ranked]
    items: Mapping[str, str]
    """Known catalogue: item -> category."""
    skus: Mapping[str, str] = field(default_factory=dict)
    """SKU -> item, so stock events (by SKU) can be mapped to items."""


def _batched(redis: Redis, commands: Iterator[tuple[str, tuple]]) -> int:
    pipe = redis.pipeline(transaction=False)
    n = 0
    for name, args in commands:
        getattr(pipe, name)(*args)
        n += 1
        if n % BATCH == 0:
            pipe.execute()
    pipe.execute()
    return n


def write_publication(redis: Redis, pub: Publication, *, keep: int = 2,
                      progress: Any = None) -> str:
    """Write a publication under a fresh prefix, then switch the pointer; returns its id."""
    publication = f"{pub.model_version}-{datetime.now(UTC):%Y%m%dT%H%M%S}-{uuid.uuid4().hex[:4]}"

    def commands() -> Iterator[tuple[str, tuple]]:
        for user, ranked in pub.users.items():
            yield "set", (pub_key(publication, "user", user), encode_ranked(ranked))
        for item, ranked in pub.similar.items():
            yield "set", (pub_key(publication, "similar", item),
                          encode_ranked(ranked, pub.similar_source.get(item, "similar")))
        for item, ranked in pub.bought_together.items():
            yield "set", (pub_key(publication, "fbt", item), encode_ranked(ranked))
        for user, items in pub.bought.items():
            members = list(items)
            if members:
                yield "sadd", (pub_key(publication, "bought", user), *members)
        yield "set", (pub_key(publication, "popular"), encode_ranked(pub.popular))
        for category, ranked in pub.popular_by_category.items():
            yield "set", (pub_key(publication, "popular", category), encode_ranked(ranked))
        items = list(pub.items.items())
        for start in range(0, len(items), BATCH):
            yield "hset", (pub_key(publication, "items"), None, None, dict(items[start:start + BATCH]))
        skus = list(pub.skus.items())
        for start in range(0, len(skus), BATCH):
            yield "hset", (SKU_PRODUCT, None, None, dict(skus[start:start + BATCH]))

    started = time.perf_counter()
    written = _batched(redis, commands())
    meta = {
        "publication": publication, "model": pub.model, "model_version": pub.model_version,
        "published_at": datetime.now(UTC).isoformat(), "users": len(pub.users),
        "items": len(pub.items), "complete": True,
    }
    redis.set(pub_key(publication, "meta"), orjson.dumps(meta))
    _resolve_pending_stock(redis, pub.skus)
    pipe = redis.pipeline(transaction=True)
    pipe.set(POINTER, publication)
    pipe.lpush(PUBLICATIONS, publication)
    pipe.execute()
    if progress:
        progress(f"published {publication}: {written} writes in {time.perf_counter() - started:.1f}s")
    prune_publications(redis, keep=keep)
    return publication


def _resolve_pending_stock(redis: Redis, skus: Mapping[str, str]) -> None:
    """SKUs reported out of stock before their product was known now map to products."""
    pending = [s.decode() for s in redis.smembers(OUT_OF_STOCK_SKUS)]
    products = [skus[s] for s in pending if s in skus]
    if products:
        pipe = redis.pipeline(transaction=True)
        pipe.sadd(OUT_OF_STOCK, *products)
        pipe.incr(OUT_OF_STOCK_VERSION)
        pipe.execute()


def prune_publications(redis: Redis, *, keep: int) -> list[str]:
    """Delete every publication but the newest `keep` (and never the one in service)."""
    current = redis.get(POINTER)
    names = [p.decode() for p in redis.lrange(PUBLICATIONS, 0, -1)]
    doomed = [p for p in names[keep:] if p.encode() != current]
    for publication in doomed:
        batch = []
        for key in redis.scan_iter(match=pub_key(publication, "*"), count=1000):
            batch.append(key)
            if len(batch) >= BATCH:
                redis.unlink(*batch)
                batch = []
        if batch:
            redis.unlink(*batch)
        redis.lrem(PUBLICATIONS, 0, publication)
    return doomed


def _text(value: bytes | None) -> str | None:
    return value.decode() if value is not None else None


# --- reading --------------------------------------------------------------------------------
@dataclass(frozen=True)
class Meta:
    publication: str
    model: str
    model_version: str
    published_at: datetime
    users: int
    items: int
    popular: Ranked


class PublishedStore:
    """The publication in service, as this process sees it.

    The pointer is re-read at most every `check_s` seconds. A new publication is adopted only
    if its meta is complete and its popularity list loads; otherwise the last good one stays.
    The out-of-stock set is cached and re-read only when its version counter moves (read in the
    same round trip as the request's own keys), like the cart's promotion cache.
    """

    def __init__(self, redis: Redis, *, check_s: float = 1.0):
        self.redis = redis
        self.check_s = check_s
        self._meta: Meta | None = None
        self._checked = float("-inf")
        self._oos_version: bytes | None = b"?"
        self._oos: frozenset[str] = frozenset()

    def current(self) -> Meta | None:
        now = time.monotonic()
        if now - self._checked >= self.check_s:
            self._checked = now
            self._maybe_switch()
        return self._meta

    def _maybe_switch(self) -> None:
        pointer = self.redis.get(POINTER)
        if pointer is None or (self._meta and pointer.decode() == self._meta.publication):
            return
        publication = pointer.decode()
        try:
            raw_meta, raw_popular = self.redis.mget(pub_key(publication, "meta"),
                                                    pub_key(publication, "popular"))
            body = orjson.loads(raw_meta or b"null")
            popular = decode_ranked(raw_popular)
            if not body or not body.get("complete") or popular is None:
                raise ValueError("meta or popularity list missing or incomplete")
            meta = Meta(publication=publication, model=body["model"],
                        model_version=body["model_version"],
                        published_at=datetime.fromisoformat(body["published_at"]),
                        users=int(body["users"]), items=int(body["items"]), popular=popular[0])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            log.error("publication_rejected", publication=publication, error=str(exc)[:300],
                      serving=self._meta.publication if self._meta else None)
            return
        log.info("publication_adopted", publication=publication, model=meta.model)
        self._meta = meta

    def out_of_stock(self, version: bytes | None) -> frozenset[str]:
        """The cached set, re-read when `version` (read by the caller) moved."""
        if version != self._oos_version:
            members = self.redis.smembers(OUT_OF_STOCK)
            self._oos = frozenset(m.decode() for m in members)
            self._oos_version = version
        return self._oos

    def user_view(self, meta: Meta, user_id: str) -> tuple[Ranked | None, set[str], frozenset[str]]:
        """(the user's top-N or None, items they bought, out-of-stock items): one round trip."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.get(pub_key(meta.publication, "user", user_id))
        pipe.smembers(pub_key(meta.publication, "bought", user_id))
        pipe.smembers(live_bought_key(user_id))
        pipe.get(OUT_OF_STOCK_VERSION)
        raw, bought, live, version = pipe.execute()
        ranked = decode_ranked(raw)
        return (ranked[0] if ranked else None, {b.decode() for b in bought | live},
                self.out_of_stock(version))

    def item_lists(self, meta: Meta, kind: str, items: list[str],
                   user_id: str | None = None) -> tuple[list[tuple[Ranked, str | None] | None],
                                                        list[str | None], set[str], frozenset[str]]:
        """For each item: its `kind` list (`similar`/`fbt`) and its category (None = unknown
        item); plus the user's bought items and the out-of-stock set. One round trip."""
        pipe = self.redis.pipeline(transaction=False)
        pipe.mget([pub_key(meta.publication, kind, i) for i in items])
        pipe.hmget(pub_key(meta.publication, "items"), items)
        pipe.hmget(NEW_ITEMS, items)
        if user_id:
            pipe.smembers(pub_key(meta.publication, "bought", user_id))
            pipe.smembers(live_bought_key(user_id))
        pipe.get(OUT_OF_STOCK_VERSION)
        replies = pipe.execute()
        lists = [decode_ranked(r) for r in replies[0]]
        cats = [_text(known if known is not None else new)
                for known, new in zip(replies[1], replies[2], strict=True)]
        bought = {b.decode() for b in replies[3] | replies[4]} if user_id else set()
        return lists, cats, bought, self.out_of_stock(replies[-1])

    def category_popular(self, meta: Meta, category: str) -> Ranked:
        got = decode_ranked(self.redis.get(pub_key(meta.publication, "popular", category)))
        return got[0] if got else []

    def lists(self, meta: Meta, kind: str, items: list[str]) -> list[Ranked]:
        """Several lists of one kind in one MGET (missing or unreadable ones are skipped)."""
        if not items:
            return []
        out = []
        for got in map(decode_ranked, self.redis.mget([pub_key(meta.publication, kind, i) for i in items])):
            if got:
                out.append(got[0])
        return out
