"""Model types by name, so the CLI, registry and tuner can build any model from JSON."""

from __future__ import annotations

from typing import Any

from models.base import Recommender
from models.baselines import ItemKNN, Popularity
from models.content import ContentTfidf
from models.ensemble import Blend
from models.factorization import ALS, BPR
from models.graph import GFCF, UserKNN
from models.linear import DLAE, EASE, RP3Beta
from models.rerank import ListwiseRerank
from models.sequence import TemporalCooccurrence

MODEL_TYPES: dict[str, type[Recommender]] = {
    cls.name: cls
    for cls in (
        Popularity,
        ItemKNN,
        ALS,
        BPR,
        EASE,
        DLAE,
        RP3Beta,
        GFCF,
        UserKNN,
        TemporalCooccurrence,
        ContentTfidf,
        Blend,
        ListwiseRerank,
    )
}


def build(model_type: str, params: dict[str, Any] | None = None) -> Recommender:
    """A fresh, unfitted model of a registered type."""
    try:
        cls = MODEL_TYPES[model_type]
    except KeyError:
        known = ", ".join(sorted(MODEL_TYPES))
        raise ValueError(f"unknown model type {model_type!r} (known: {known})") from None
    return cls(**(params or {}))
