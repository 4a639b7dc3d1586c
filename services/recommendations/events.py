"""Events the recommendations service publishes (source `recommendations`) and the streams it
follows.

`recommendation.offer_granted` announces a personal offer for a regular customer (from the RFM
segments and the marketers' rules). It carries everything the cart's pricing engine needs to
honour it as a personal promotion (`user_id` set) and what notifications need to announce it.
The event id is the offer id, so a re-sent grant is a duplicate every consumer already drops.
Percentages are integer basis points (1 % = 100 bp), money integer minor units, never floats.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import Field

from services.platform.events import EventData, register, stream_for

SOURCE = "recommendations"
STREAM = stream_for(SOURCE)

FOLLOWED_STREAMS = [stream_for("inventory"), stream_for("catalog"), stream_for("orders")]
"""Stock (out-of-stock filter), catalog (SKU -> product, new items) and orders (bought filter)."""


@register
class OfferGranted(EventData):
    event_type = "recommendation.offer_granted"
    offer_id: str
    user_id: str
    segment: str
    """RFM segment that earned the offer (`loyal`, `at_risk`, ...)."""
    rule_id: str
    campaign_id: str
    name: str
    kind: Literal["percent", "fixed"]
    percent_bp: int | None = Field(default=None, ge=1, le=10_000)
    amount_minor: int | None = Field(default=None, ge=1)
    currency: str | None = Field(default=None, min_length=3, max_length=3)
    min_subtotal_minor: int = Field(default=0, ge=0)
    starts_at: datetime
    ends_at: datetime
