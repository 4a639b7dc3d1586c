"""Events the gateway consumes (it publishes none): catalog and stock changes that make cached
public catalog responses stale."""

from __future__ import annotations

from services.platform.events import stream_for

CACHE_GROUP = "gateway-cache"
INVALIDATING_STREAMS = [stream_for("catalog"), stream_for("inventory"), stream_for("search")]
INVALIDATING_PREFIXES = ("catalog.", "review.", "inventory.stock_changed", "search.index_updated")
"""Catalog changes drop cached product pages at once; search answers are dropped again when the
indexer has committed the change (the catalog reloads its index reader on every query)."""
