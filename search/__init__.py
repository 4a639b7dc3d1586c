"""Catalog search: one index definition and query model, two engines (embedded tantivy, OpenSearch).

The catalog service builds `ProductDocument`s, hands them to a `SearchBackend` from
`search.config.make_backend()`, and answers shoppers' queries with `SearchQuery` -> `SearchResult`.
"""

from search.backend import SearchBackend
from search.documents import ProductDocument, build_document
from search.query import Facet, SearchFilters, SearchQuery, SortOrder
from search.results import FacetBucket, Hit, RelaxedSuggestion, SearchResult

__all__ = [
    "Facet",
    "FacetBucket",
    "Hit",
    "ProductDocument",
    "RelaxedSuggestion",
    "SearchBackend",
    "SearchFilters",
    "SearchQuery",
    "SearchResult",
    "SortOrder",
    "build_document",
]
