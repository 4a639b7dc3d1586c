"""Turn the registry's serving arrays and the warehouse's lists into a `Publication`.

Every list is restricted to the sellable catalogue of today (a product deleted after training
never reaches a shelf). Items the model never saw (no interactions yet) get neighbours by text
(TF-IDF over title, brand and category path, `models.content`), so a new product still has a
"similar items" shelf.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import polars as pl

from models.registry import Serving
from services.recommendations.store import Publication, Ranked


def _ranked(ids: np.ndarray, scores: np.ndarray, item_ids: list[str], allowed: set[str],
            limit: int) -> Ranked:
    out: Ranked = []
    for idx, score in zip(ids.tolist(), scores.tolist(), strict=True):
        if idx < 0 or not np.isfinite(score):
            continue
        item = item_ids[idx]
        if item in allowed:
            out.append((item, float(score)))
            if len(out) == limit:
                break
    return out


def content_neighbours(catalogue: pl.DataFrame, cold: list[str], limit: int) -> dict[str, Ranked]:
    """TF-IDF neighbours of the `cold` items among the whole sellable catalogue."""
    from scipy.sparse import csr_matrix

    from models.base import SideInfo
    from models.content import ContentTfidf, item_text

    if not cold or catalogue.height < 2:
        return {}
    ids = catalogue["product_id"].to_list()
    texts = [item_text(title, brand, path) for title, brand, path in
             zip(catalogue["title"], catalogue["brand"], catalogue["category_path"], strict=True)]
    model = ContentTfidf(ngram_max=1).fit(csr_matrix((1, len(ids)), dtype=np.float32),
                                          side=SideInfo(item_texts=texts))
    index = {item: i for i, item in enumerate(ids)}
    rows = np.array([index[c] for c in cold if c in index], dtype=np.int64)
    if rows.size == 0:
        return {}
    top, scores = model.similar_items(rows, N=limit)
    allowed = set(ids)
    return {ids[r]: [(i, s) for i, s in _ranked(t, sc, ids, allowed, limit) if s > 0]
            for r, t, sc in zip(rows.tolist(), top, scores, strict=True)}


def build_publication(serving: Serving, model_type: str, sources: dict[str, pl.DataFrame], *,
                      top_n: int, similar_n: int, popular_n: int) -> Publication:
    catalogue = sources["catalogue"]
    sellable = catalogue.filter(~pl.col("is_deleted"))
    allowed = set(sellable["product_id"].to_list())
    item_ids = [str(i) for i in serving.item_ids.tolist()]
    users = {
        str(user): ranked
        for user, ids, scores in zip(serving.user_ids.tolist(), serving.top_items, serving.top_scores,
                                     strict=True)
        if (ranked := _ranked(ids, scores, item_ids, allowed, top_n))
    }
    similar: dict[str, Ranked] = {}
    for idx, (ids, scores) in enumerate(zip(serving.similar_items, serving.similar_scores, strict=True)):
        if item_ids[idx] in allowed and (ranked := _ranked(ids, scores, item_ids, allowed, similar_n)):
            similar[item_ids[idx]] = ranked
    source = dict.fromkeys(similar, "similar")
    cold = sorted(allowed - set(similar))
    for item, ranked in content_neighbours(sellable, cold, similar_n).items():
        if ranked:
            similar[item], source[item] = ranked, "content"

    together: dict[str, Ranked] = {}
    for row in sources["bought_together"].iter_rows(named=True):
        if row["item_id"] in allowed and row["other_id"] in allowed:
            together.setdefault(row["item_id"], []).append((row["other_id"], float(row["orders"])))
    bought = {row["user_id"]: row["items"] for row in sources["bought"].iter_rows(named=True)}

    popularity = sources["popularity"].filter(pl.col("product_id").is_in(list(allowed)))
    popular = [(r["product_id"], float(r["popularity_score"]))
               for r in popularity.filter(pl.col("popularity_rank") <= popular_n).iter_rows(named=True)]
    by_category: dict[str, Ranked] = {}
    for r in popularity.sort("category_rank").iter_rows(named=True):
        if r["category"] is not None and r["category_rank"] <= popular_n:
            by_category.setdefault(r["category"], []).append((r["product_id"], float(r["popularity_score"])))
    items: dict[str, Any] = {r["product_id"]: r["category"] or "" for r in sellable.iter_rows(named=True)}
    skus = {r["sku"]: r["product_id"] for r in catalogue.iter_rows(named=True) if r["sku"]}
    return Publication(
        model=f"{model_type}@{serving.version}", model_version=serving.version, users=users,
        similar=similar, similar_source=source, bought_together=together, bought=bought,
        popular=popular, popular_by_category=by_category, items=items, skus=skus)
