"""The read side shoppers hit most: search, browse, autocomplete and "did you mean", all thin
over `search/` (the engine is whatever `search.config` chose)."""

from __future__ import annotations

import math

from pydantic import ValidationError

from search.backend import SearchBackend
from search.query import SearchQuery
from search.relax import relax
from services.catalog.schemas import (
    AutocompleteResponse,
    ProductHit,
    SearchParams,
    SearchResponse,
    SuggestionResponse,
)
from services.platform.errors import InvalidInput

HIT_FIELDS = set(ProductHit.model_fields) - {"score", "highlights"}


def to_query(params: SearchParams) -> SearchQuery:
    """HTTP parameters -> the library's validated query; its rule violations become a 422."""
    try:
        return SearchQuery.model_validate({
            "q": params.q, "sort": params.sort, "facets": params.facets, "page": params.page,
            "size": params.size, "highlight": params.highlight,
            "filters": {"category": params.category, "brands": params.brand,
                        "price_min": params.price_min, "price_max": params.price_max,
                        "min_rating": params.min_rating, "in_stock": params.in_stock},
        })
    except ValidationError as exc:
        errors = [{"field": ".".join(str(p) for p in e["loc"] if p != "filters") or "query",
                   "message": e["msg"].removeprefix("Value error, "), "code": e["type"]}
                  for e in exc.errors()]
        raise InvalidInput("; ".join(f"{e['field']}: {e['message']}" for e in errors[:5]),
                           slug="invalid-query", errors=errors) from exc


class Browse:
    def __init__(self, backend: SearchBackend):
        self.backend = backend

    def search(self, params: SearchParams) -> SearchResponse:
        query = to_query(params)
        self.backend.refresh()  # the indexer process's last commit (a stat when none)
        result = self.backend.search(query)
        items = [{**hit.document.model_dump(include=HIT_FIELDS), "score": hit.score,
                  "highlights": hit.highlights} for hit in result.hits]
        return SearchResponse.model_validate({  # one validation call for the whole answer
            "items": items, "total": result.total, "page": result.page, "size": result.size,
            "pages": math.ceil(result.total / result.size), "facets": result.facets,
            "suggestion": result.suggestion})

    def autocomplete(self, prefix: str, n: int) -> AutocompleteResponse:
        self.backend.refresh()  # the indexer process's last commit (a stat when none)
        return AutocompleteResponse(q=prefix, suggestions=self.backend.suggest(prefix, n))

    def suggestion(self, params: SearchParams) -> SuggestionResponse:
        """A looser query that matches, whether or not the given one does."""
        query = to_query(params)
        self.backend.refresh()  # the indexer process's last commit (a stat when none)
        found = relax(query, self.backend.count, self.backend.vocabulary_near)
        return SuggestionResponse(q=query.q, suggestion=found)
