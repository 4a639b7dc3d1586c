"""Events the gateway consumes (it publishes none): catalog and stock changes that make cached
public catalog responses stale."""

from __future__ import annotations

from services.platform.events import stream_for

CACHE_GROUP = "gateway-cache"
INVALIDATING_STREAMS = [stream_for("catalog"), stream_for("inventory")]
INVALIDATING_PREFIXES = ("catalog.", "review.", "inventory.stock_changed")
