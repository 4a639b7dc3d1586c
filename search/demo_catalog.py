"""The real demo catalog: DummyJSON's 194 products as plain product dicts.

DummyJSON categories are flat; we hang them under a small root tree so category-subtree filters
and facets have something to show. Ratings are recomputed from the shipped reviews so the
aggregates agree with the reviews the catalog will seed (the file's own `rating` does not).
"""

from __future__ import annotations

import json
import os
from datetime import datetime
from pathlib import Path
from typing import Any

CATEGORY_TREE: dict[str, list[str]] = {
    "beauty-and-health": ["beauty", "fragrances", "skin-care"],
    "electronics": ["smartphones", "laptops", "tablets", "mobile-accessories"],
    "fashion": [
        "mens-shirts", "mens-shoes", "mens-watches", "tops", "womens-dresses", "womens-shoes",
        "womens-watches", "womens-bags", "womens-jewellery", "sunglasses",
    ],
    "home-and-kitchen": ["furniture", "home-decoration", "kitchen-accessories"],
    "grocery": ["groceries"],
    "sports-and-outdoors": ["sports-accessories"],
    "automotive": ["motorcycle", "vehicle"],
}
ROOT_OF = {leaf: root for root, leaves in CATEGORY_TREE.items() for leaf in leaves}


def datasets_dir() -> Path:
    """`SHOP_DATASETS`, else the `shared/datasets` folder beside the repository."""
    env = os.environ.get("SHOP_DATASETS")
    return Path(env) if env else Path(__file__).resolve().parents[2] / "shared" / "datasets"


def dummyjson_path() -> Path:
    return datasets_dir() / "dummyjson" / "products.json"


def _time(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def convert(raw: dict[str, Any]) -> dict[str, Any]:
    """One DummyJSON product -> our plain product dict (see `search.documents.build_document`)."""
    reviews = [
        {
            "rating": int(r["rating"]),
            "comment": r["comment"],
            "created_at": _time(r["date"]),
            "reviewer_name": r["reviewerName"],
            "reviewer_email": r["reviewerEmail"],
        }
        for r in raw.get("reviews", [])
    ]
    count = len(reviews)
    leaf = raw["category"]
    attributes: dict[str, Any] = {
        "weight": raw.get("weight"),
        "warranty": raw.get("warrantyInformation"),
        "shipping": raw.get("shippingInformation"),
        "return_policy": raw.get("returnPolicy"),
    }
    dims = raw.get("dimensions") or {}
    if dims:
        attributes["dimensions_cm"] = "x".join(
            f"{dims[k]:g}" for k in ("width", "height", "depth") if k in dims
        )
    meta = raw.get("meta") or {}
    images = list(raw.get("images") or [])
    return {
        "id": int(raw["id"]),
        "sku": raw["sku"],
        "title": raw["title"],
        "description": raw.get("description", ""),
        "brand": raw.get("brand"),
        "category_path": [ROOT_OF.get(leaf, "other"), leaf],
        "tags": list(raw.get("tags") or []),
        "attributes": {k: v for k, v in attributes.items() if v not in (None, "")},
        "price_minor": round(float(raw["price"]) * 100),
        "currency": "USD",
        "rating_avg": round(sum(r["rating"] for r in reviews) / count, 2) if count else 0.0,
        "rating_count": count,
        "stock": int(raw.get("stock", 0)),
        "created_at": _time(meta["createdAt"]) if "createdAt" in meta else None,
        "updated_at": _time(meta["updatedAt"]) if "updatedAt" in meta else None,
        "photo_url": images[0] if images else None,
        "thumbnail_url": raw.get("thumbnail"),
        "images": images,
        "reviews": reviews,
    }


def load_dummyjson(path: Path | None = None) -> list[dict[str, Any]]:
    """All DummyJSON products as plain product dicts, in file order."""
    data = json.loads((path or dummyjson_path()).read_text(encoding="utf-8"))
    return [convert(p) for p in data]
