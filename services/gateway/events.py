"""Events the gateway consumes (it publishes none): catalog changes that make cached public
catalog responses stale."""

from __future__ import annotations

from services.platform.events import stream_for

CACHE_GROUP = "gateway-cache"
INVALIDATING_STREAMS = [stream_for("catalog"), stream_for("search")]
INVALIDATING_PREFIXES = ("catalog.", "review.", "search.index_updated")
"""Catalog changes drop cached product pages at once; search answers are dropped again when the
indexer has committed the change (the catalog reloads its index reader on every query).

Stock is not watched here: the catalog learns availability from `inventory.stock_changed`
through its indexer, which then announces `search.index_updated`, and only after that do the
catalog's answers change. Dropping the cache on the stock event itself came too early (a read
in between cached the old availability again) and cost the gateway ~2 ms of CPU per checkout:
every reservation, commit and stock change went through this consumer."""
