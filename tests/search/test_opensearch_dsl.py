"""The OpenSearch backend's request bodies, checked against the expected query DSL (no server)."""

from __future__ import annotations

from search import opensearch_dsl as dsl
from search.documents import build_document
from search.opensearch_backend import parse_search_response
from search.query import SearchFilters, SearchQuery
from tests.search.conftest import CATALOG

BOOSTED = {"field_value_factor": {"field": "boost", "modifier": "ln2p", "missing": 0},
           "boost_mode": "multiply"}


def test_typical_query_body() -> None:
    sq = SearchQuery(
        q="walnut table",
        filters=SearchFilters(category="furniture", brands=["Oakridge", "oakridge", "Nordhaven"],
                              price_min=1_000, price_max=50_000, min_rating=4, in_stock=True),
        facets=["brand", "price"], page=3, size=10, highlight=True,
    )
    assert dsl.search_body(sq) == {
        "query": {"function_score": {
            "query": {"bool": {
                "filter": [
                    {"term": {"category_paths": "furniture"}},
                    {"terms": {"brand_key": ["oakridge", "nordhaven"]}},
                    {"range": {"price_minor": {"gte": 1_000, "lte": 50_000}}},
                    {"range": {"rating_avg": {"gte": 4.0}}},
                    {"term": {"in_stock": True}},
                ],
                "must": [{"bool": {"minimum_should_match": 1, "should": [
                    {"multi_match": {
                        "query": "walnut table", "type": "best_fields", "tie_breaker": 0.3,
                        "fields": ["title^4", "brand^3", "category_text^2", "description^1"],
                        "minimum_should_match": "2<-1 4<75%",
                    }},
                    {"match": {"spell": {
                        "query": "walnut table", "fuzziness": "AUTO:4,8",
                        "minimum_should_match": "2<-1 4<75%", "boost": 1.6,
                    }}},
                ]}}],
            }},
            **BOOSTED,
        }},
        "sort": ["_score", {"id": "asc"}],
        "from": 20,
        "size": 10,
        "track_total_hits": True,
        "aggs": {
            "brand": {"terms": {"field": "brand_facet", "size": 50}},
            "price": {"range": {"field": "price_minor", "ranges": [
                {"from": 0, "to": 1_000}, {"from": 1_000, "to": 2_500},
                {"from": 2_500, "to": 5_000}, {"from": 5_000, "to": 10_000},
                {"from": 10_000, "to": 25_000}, {"from": 25_000, "to": 50_000},
                {"from": 50_000, "to": 100_000}, {"from": 100_000},
            ]}},
        },
        "highlight": {
            "pre_tags": ["<b>"], "post_tags": ["</b>"], "encoder": "html",
            "fields": {"title": {"number_of_fragments": 0},
                       "description": {"fragment_size": 160, "number_of_fragments": 1}},
        },
    }


def test_single_word_also_tries_the_sku() -> None:
    should = dsl.search_body(SearchQuery(q="SKU-0006"))["query"]["function_score"]["query"][
        "bool"]["must"][0]["bool"]["should"]
    assert should[-1] == {"term": {"sku": {"value": "sku-0006", "boost": 50.0}}}


def test_browse_sorts_by_field_with_id_tie_break() -> None:
    body = dsl.search_body(SearchQuery(sort="rating", facets=["rating"]))
    assert body["query"] == {"bool": {"filter": []}}
    assert body["sort"] == [{"rating_avg": "desc"}, {"rating_count": "desc"}, {"id": "asc"}]
    assert body["aggs"]["rating"] == {"range": {"field": "rating_avg", "ranges": [
        {"from": 1.0, "to": 2.0}, {"from": 2.0, "to": 3.0}, {"from": 3.0, "to": 4.0},
        {"from": 4.0}]}}
    assert "highlight" not in body
    assert dsl.search_body(SearchQuery())["sort"] == [{"popularity": "desc"}, {"id": "asc"}]


def test_text_query_sorted_by_price_is_not_boosted() -> None:
    body = dsl.search_body(SearchQuery(q="sofa", sort="price_asc"))
    assert "function_score" not in body["query"]
    assert body["sort"] == [{"price_minor": "asc"}, {"id": "asc"}]


def test_index_definition() -> None:
    body = dsl.index_body(dsl.synonym_rules())
    analysis = body["settings"]["analysis"]
    assert analysis["analyzer"]["en_index"]["filter"] == [
        "lowercase", "asciifolding", "en_stop", "en_stemmer"]
    assert analysis["analyzer"]["en_search"]["filter"] == [
        "lowercase", "asciifolding", "product_synonyms", "en_stop", "en_stemmer"]
    assert analysis["filter"]["edge_grams"] == {"type": "edge_ngram", "min_gram": 1,
                                                "max_gram": 20}
    assert "sofa, couch, settee" in analysis["filter"]["product_synonyms"]["synonyms"]
    props = body["mappings"]["properties"]
    assert props["title"]["fields"]["ac"]["analyzer"] == "autocomplete"
    assert props["brand_facet"] == {"type": "keyword"}
    assert props["category_paths"] == {"type": "keyword"}
    assert body["mappings"]["dynamic"] == "strict"


def test_document_body_round_trips() -> None:
    doc = build_document(CATALOG[4])
    body = dsl.document_body(doc)
    assert body["category_paths"] == ["furniture", "furniture/living-room"]
    assert body["category_text"] == "Furniture Living Room"
    assert body["brand_facet"] == "Oakridge" and 0 < body["boost"] <= 0.5
    assert set(body) - {"category_text", "category_paths", "brand_key", "brand_facet", "boost",
                        "spell"} <= set(dsl.index_body([])["mappings"]["properties"])
    assert dsl.source_to_document(body) == doc


def test_suggest_and_spell_bodies() -> None:
    assert dsl.suggest_body("apple ma", 5) == {
        "size": 20, "_source": ["title"],
        "query": {"function_score": {
            "query": {"match": {"title.ac": {"query": "apple ma", "operator": "and"}}},
            **BOOSTED}},
    }
    assert dsl.spell_body("sofaa")["suggest"]["spell"]["term"]["field"] == "spell"


def test_response_parsing() -> None:
    doc = build_document(CATALOG[0])
    resp = {
        "hits": {"total": {"value": 1, "relation": "eq"}, "hits": [{
            "_id": "1", "_score": 7.5, "_source": dsl.document_body(doc),
            "highlight": {"title": ["Apple <b>iPhone</b> 13 Pro"]}}]},
        "aggregations": {
            "brand": {"buckets": [{"key": "Apple", "doc_count": 1}]},
            "rating": {"buckets": [{"key": "4.0-*", "from": 4.0, "doc_count": 1}]},
        },
    }
    result = parse_search_response(resp, SearchQuery(q="iphone", facets=["brand", "rating"]))
    assert result.total == 1 and result.hits[0].document == doc
    assert result.hits[0].score == 7.5
    assert result.hits[0].highlights == {"title": "Apple <b>iPhone</b> 13 Pro"}
    assert [(b.key, b.count) for b in result.facets["brand"]] == [("Apple", 1)]
    assert [(b.key, b.count) for b in result.facets["rating"]] == [
        ("4+", 1), ("3+", 1), ("2+", 1), ("1+", 1)]
