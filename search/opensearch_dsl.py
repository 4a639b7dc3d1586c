"""Request bodies for OpenSearch, as pure functions so they are unit-tested without a server.

The index definition mirrors the embedded one: English analysis (lowercase, ASCII folding, stop
words, stemmer), synonyms from `search/synonyms.txt` applied at search time (synonym_graph),
edge n-grams for autocomplete, keyword fields for facets, the same field boosts, fuzziness and
minimum-should-match policy, and the same quality prior (score * ln(2 + boost), which orders
hits exactly like tantivy's log2(2 + boost)).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from search.documents import ProductDocument, category_label, category_paths
from search.facets import aggregation_spec
from search.query import Facet, SearchFilters, SearchQuery, SortOrder
from search.ranking import FIELD_BOOSTS, FUZZY_WEIGHT, SKU_BOOST, boost_signal
from search.synonyms import DEFAULT_SYNONYMS

TEXT_FIELDS = {"title": "title", "brand": "brand", "category": "category_text",
               "description": "description"}
FACET_FIELDS = {Facet.brand: "brand_facet", Facet.category: "category_paths",
                Facet.price: "price_minor", Facet.rating: "rating_avg"}
MINIMUM_SHOULD_MATCH = "2<-1 4<75%"  # = search.ranking.minimum_should_match
FUZZINESS = "AUTO:4,8"  # = search.ranking.fuzzy_distance
DERIVED = ("category_text", "category_paths", "brand_key", "brand_facet", "boost", "spell")
SORTS: dict[SortOrder, list[dict[str, str]]] = {
    SortOrder.price_asc: [{"price_minor": "asc"}, {"id": "asc"}],
    SortOrder.price_desc: [{"price_minor": "desc"}, {"id": "asc"}],
    SortOrder.rating: [{"rating_avg": "desc"}, {"rating_count": "desc"}, {"id": "asc"}],
    SortOrder.popularity: [{"popularity": "desc"}, {"id": "asc"}],
    SortOrder.newest: [{"created_at": "desc"}, {"id": "asc"}],
}


def synonym_rules(path: Path = DEFAULT_SYNONYMS) -> list[str]:
    lines = (ln.split("#", 1)[0].strip() for ln in path.read_text(encoding="utf-8").splitlines())
    return [ln for ln in lines if ln]


def index_body(synonyms: list[str]) -> dict[str, Any]:
    fold = ["lowercase", "asciifolding"]
    text = {"type": "text", "analyzer": "en_index", "search_analyzer": "en_search"}
    return {
        "settings": {
            "index": {"number_of_shards": 1, "max_ngram_diff": 19},
            "analysis": {
                "filter": {
                    "en_stop": {"type": "stop", "stopwords": "_english_"},
                    "en_stemmer": {"type": "stemmer", "language": "english"},
                    "product_synonyms": {"type": "synonym_graph", "synonyms": synonyms,
                                         "lenient": True},
                    "edge_grams": {"type": "edge_ngram", "min_gram": 1, "max_gram": 20},
                },
                "normalizer": {"folded": {"type": "custom", "filter": fold}},
                "analyzer": {
                    "en_index": {"tokenizer": "standard",
                                 "filter": [*fold, "en_stop", "en_stemmer"]},
                    "en_search": {"tokenizer": "standard",
                                  "filter": [*fold, "product_synonyms", "en_stop", "en_stemmer"]},
                    "en_plain": {"tokenizer": "standard", "filter": fold},
                    "autocomplete": {"tokenizer": "standard", "filter": [*fold, "edge_grams"]},
                },
            },
        },
        "mappings": {
            "dynamic": "strict",
            "properties": {
                "id": {"type": "long"},
                "sku": {"type": "keyword", "normalizer": "folded"},
                "title": {**text, "copy_to": "spell", "fields": {
                    "ac": {"type": "text", "analyzer": "autocomplete",
                           "search_analyzer": "en_plain"}}},
                "description": text,
                "brand": {**text, "copy_to": "spell"},
                "brand_key": {"type": "keyword", "normalizer": "folded"},
                "brand_facet": {"type": "keyword"},
                "category_text": {**text, "copy_to": "spell"},
                "category_path": {"type": "keyword"},
                "category_paths": {"type": "keyword"},
                "tags": {"type": "keyword"},
                "spell": {"type": "text", "analyzer": "en_plain"},
                "attributes": {"type": "object", "enabled": False},
                "price_minor": {"type": "long"},
                "currency": {"type": "keyword"},
                "rating_avg": {"type": "float"},
                "rating_count": {"type": "integer"},
                "popularity": {"type": "float"},
                "stock": {"type": "integer"},
                "in_stock": {"type": "boolean"},
                "created_at": {"type": "date"},
                "photo_url": {"type": "keyword", "index": False},
                "thumbnail_url": {"type": "keyword", "index": False},
                "boost": {"type": "float"},
            },
        },
    }


def document_body(doc: ProductDocument) -> dict[str, Any]:
    body = doc.model_dump(mode="json", exclude={"category"})
    labels = " ".join(category_label(p) for p in doc.category_path)
    body.update(
        category_text=" ".join([labels, *doc.tags]),
        category_paths=category_paths(doc.category_path),
        brand_key=doc.brand, brand_facet=doc.brand, boost=boost_signal(doc),
    )
    return body


def source_to_document(source: dict[str, Any]) -> ProductDocument:
    return ProductDocument.model_validate({k: v for k, v in source.items() if k not in DERIVED})


def text_query(q: str) -> dict[str, Any]:
    exact = {"multi_match": {
        "query": q, "type": "best_fields", "tie_breaker": 0.3,
        "fields": [f"{TEXT_FIELDS[f]}^{b:g}" for f, b in FIELD_BOOSTS.items()],
        "minimum_should_match": MINIMUM_SHOULD_MATCH,
    }}
    fuzzy = {"match": {"spell": {  # unstemmed words of title, brand, category and tags
        "query": q, "fuzziness": FUZZINESS, "minimum_should_match": MINIMUM_SHOULD_MATCH,
        "boost": FIELD_BOOSTS["title"] * FUZZY_WEIGHT,
    }}}
    should: list[dict[str, Any]] = [exact, fuzzy]
    if len(q) <= 64 and " " not in q:
        should.append({"term": {"sku": {"value": q.lower(), "boost": SKU_BOOST}}})
    return {"bool": {"should": should, "minimum_should_match": 1}}


def filter_clauses(f: SearchFilters) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    if f.category:
        out.append({"term": {"category_paths": f.category}})
    if f.brands:
        out.append({"terms": {"brand_key": list(dict.fromkeys(b.casefold() for b in f.brands))}})
    if f.price_min is not None or f.price_max is not None:
        bounds = {k: v for k, v in (("gte", f.price_min), ("lte", f.price_max)) if v is not None}
        out.append({"range": {"price_minor": bounds}})
    if f.min_rating is not None:
        out.append({"range": {"rating_avg": {"gte": f.min_rating}}})
    if f.in_stock is not None:
        out.append({"term": {"in_stock": f.in_stock}})
    return out


def with_boost(query: dict[str, Any]) -> dict[str, Any]:
    return {"function_score": {
        "query": query,
        "field_value_factor": {"field": "boost", "modifier": "ln2p", "missing": 0},
        "boost_mode": "multiply",
    }}


def query_clause(sq: SearchQuery) -> dict[str, Any]:
    bool_query: dict[str, Any] = {"filter": filter_clauses(sq.filters)}
    if sq.q:
        bool_query["must"] = [text_query(sq.q)]
    return {"bool": bool_query}


def search_body(sq: SearchQuery) -> dict[str, Any]:
    scored = bool(sq.q) and sq.sort is SortOrder.relevance
    body: dict[str, Any] = {
        "query": with_boost(query_clause(sq)) if scored else query_clause(sq),
        "sort": ["_score", {"id": "asc"}] if scored
        else SORTS[sq.sort if sq.sort is not SortOrder.relevance else SortOrder.popularity],
        "from": sq.offset,
        "size": sq.size,
        "track_total_hits": True,
    }
    if sq.facets:
        body["aggs"] = aggregation_spec(sq.facets, FACET_FIELDS)
    if sq.highlight and sq.q:
        body["highlight"] = {
            "pre_tags": ["<b>"], "post_tags": ["</b>"], "encoder": "html",
            "fields": {"title": {"number_of_fragments": 0},
                       "description": {"fragment_size": 160, "number_of_fragments": 1}},
        }
    return body


def count_body(sq: SearchQuery) -> dict[str, Any]:
    return {"query": query_clause(sq)}


def suggest_body(prefix: str, n: int) -> dict[str, Any]:
    match = {"match": {"title.ac": {"query": prefix, "operator": "and"}}}
    return {"size": n * 4, "_source": ["title"], "query": with_boost(match)}


def spell_body(word: str) -> dict[str, Any]:
    return {"size": 0, "suggest": {"spell": {"text": word, "term": {
        "field": "spell", "suggest_mode": "always", "max_edits": 2, "size": 10}}}}
