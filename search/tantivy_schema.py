"""The embedded engine's index definition and document conversion.

Text fields use the English analyser; keyword fields (raw, fast) serve filters and facets;
numeric fast fields serve ranges, the quality boost and the precomputed sort keys; the whole
document is stored once as JSON so a hit hydrates without touching the catalog database.
"""

from __future__ import annotations

import tantivy

from search import analysis
from search.documents import ProductDocument, category_label, category_paths
from search.ranking import boost_signal, sort_keys

TEXT_FIELDS = ("title", "brand", "category", "description")  # searched, in ranking order
SORT_FIELDS = ("price_asc", "price_desc", "rating", "popularity", "newest")


def sort_field(sort: str) -> str:
    return f"sort_{sort}"


def build_schema() -> tantivy.Schema:
    sb = tantivy.SchemaBuilder()
    sb.add_unsigned_field("id", stored=True, indexed=True, fast=True)
    sb.add_text_field("sku", tokenizer_name="raw")  # lowercased SKU: exact lookups
    for name in TEXT_FIELDS:
        sb.add_text_field(name, stored=name in ("title", "description"),
                          tokenizer_name=analysis.EN)
    sb.add_text_field("title_ac", tokenizer_name=analysis.EDGE, index_option="basic")
    sb.add_text_field("spell", tokenizer_name=analysis.WORDS, index_option="basic")
    sb.add_text_field("brand_key", tokenizer_name="raw")  # casefolded, for filters
    sb.add_text_field("brand_facet", fast=True, tokenizer_name="raw")
    sb.add_text_field("category_paths", fast=True, tokenizer_name="raw")
    sb.add_integer_field("price_minor", indexed=True, fast=True)
    sb.add_float_field("rating_avg", indexed=True, fast=True)
    sb.add_boolean_field("in_stock", indexed=True, fast=True)
    sb.add_float_field("boost", fast=True)
    for sort in SORT_FIELDS:
        sb.add_unsigned_field(sort_field(sort), fast=True)
    sb.add_bytes_field("source", stored=True)
    return sb.build()


def to_tantivy(doc: ProductDocument) -> tantivy.Document:
    out = tantivy.Document()
    out.add_unsigned("id", doc.id)
    out.add_text("sku", doc.sku.lower())
    out.add_text("title", doc.title)
    out.add_text("description", doc.description)
    if doc.brand:
        out.add_text("brand", doc.brand)
        out.add_text("brand_key", doc.brand.casefold())
        out.add_text("brand_facet", doc.brand)
    category_text = " ".join(category_label(p) for p in doc.category_path)
    out.add_text("category", " ".join([category_text, *doc.tags]))
    for key in category_paths(doc.category_path):
        out.add_text("category_paths", key)
    title_words = analysis.words(doc.title)
    for word in title_words:
        out.add_text("title_ac", word)
    others = " ".join([doc.brand or "", category_text, *doc.tags])
    for word in {*title_words, *analysis.words(others)}:  # typo tolerance and spelling fixes
        out.add_text("spell", word)
    out.add_integer("price_minor", doc.price_minor)
    out.add_float("rating_avg", doc.rating_avg)
    out.add_boolean("in_stock", doc.in_stock)
    out.add_float("boost", boost_signal(doc))
    for sort, key in sort_keys(doc).items():
        out.add_unsigned(sort_field(sort), key)
    out.add_bytes("source", doc.model_dump_json(exclude={"category"}).encode())
    return out
