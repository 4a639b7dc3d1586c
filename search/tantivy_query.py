"""Turns a `SearchQuery` into tantivy query objects, never through tantivy's query parser.

Building the query tree ourselves means shopper text cannot be engine syntax (quotes, `*`, `:`,
`AND`, parentheses are just separators or words) and lets us express what the parser cannot:
per-word dis-max across boosted fields, length-dependent fuzziness, synonym alternatives and a
minimum number of words that must match.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import tantivy

from search import analysis
from search.query import SearchFilters
from search.ranking import (
    FIELD_BOOSTS,
    FUZZY_WEIGHT,
    SKU_BOOST,
    SYNONYM_WEIGHT,
    fuzzy_distance,
    minimum_should_match,
)
from search.synonyms import Phrase, Synonyms, Term
from search.tantivy_schema import TEXT_FIELDS

Occur = tantivy.Occur
Q = tantivy.Query
FIELD_TIE_BREAKER = 0.3
MAX_QUERY_TERMS = 32  # longer queries are cut: precision comes from the first words anyway


@dataclass
class TextQuery:
    query: tantivy.Query | None  # None: the text had no searchable words
    stems: list[str] = field(default_factory=list)  # for highlighting


class QueryBuilder:
    def __init__(self, schema: tantivy.Schema, synonyms: Synonyms) -> None:
        self.schema = schema
        self.synonyms = synonyms

    # -- full text -------------------------------------------------------------------------
    def _term(self, term: Term, *, fuzzy: bool, known: Callable[[str], bool]) -> tantivy.Query:
        clauses = [
            Q.boost_query(Q.term_query(self.schema, f, term.stem), FIELD_BOOSTS[f])
            for f in TEXT_FIELDS
        ]
        distance = fuzzy_distance(term.word) if fuzzy and not known(term.word) else 0
        if distance:  # typos are matched on unstemmed words: stems of misspellings are erratic
            fuzzy_query = Q.fuzzy_term_query(self.schema, "spell", term.word, distance, True, False)
            clauses.append(Q.boost_query(fuzzy_query, FIELD_BOOSTS["title"] * FUZZY_WEIGHT))
        return Q.disjunction_max_query(clauses, FIELD_TIE_BREAKER)

    def _phrase(self, phrase: Phrase, *, fuzzy: bool, known: Callable[[str], bool]) -> tantivy.Query:
        if len(phrase) == 1:
            return self._term(phrase[0], fuzzy=fuzzy, known=known)
        return Q.boolean_query([(Occur.Must, self._term(t, fuzzy=fuzzy, known=known))
                                for t in phrase])

    def text(self, q: str, known: Callable[[str], bool] = lambda word: False) -> TextQuery:
        """`known(word)` says the word is in the index's vocabulary: such words are taken as
        typed, only unknown ones get typo tolerance (Elasticsearch's suggest_mode "missing").
        A real word is rarely a typo, and its fuzzy expansion is the most expensive part of a
        query (a Levenshtein automaton over the whole vocabulary, paid again by the facet pass)
        that mostly adds near-miss words ("shirt" -> "skirt")."""
        terms = analysis.terms(q)[:MAX_QUERY_TERMS]
        if not terms:
            return TextQuery(None)
        groups = self.synonyms.expand(terms)
        group_queries = []
        stems: list[str] = []
        for group in groups:
            alternatives = [self._phrase(group.original, fuzzy=True, known=known)]
            alternatives += [
                Q.boost_query(self._phrase(alt, fuzzy=False, known=known), SYNONYM_WEIGHT)
                for alt in group.alternatives[1:]
            ]
            stems += [t.stem for alt in group.alternatives for t in alt]
            group_queries.append(
                alternatives[0] if len(alternatives) == 1
                else Q.disjunction_max_query(alternatives)
            )
        if len(group_queries) == 1:
            main = group_queries[0]
        else:
            main = Q.boolean_query(
                [(Occur.Should, g) for g in group_queries],
                minimum_should_match(len(group_queries)),
            )
        if len(q) <= 64 and " " not in q:  # could be a SKU typed or pasted into the box
            sku = Q.boost_query(Q.term_query(self.schema, "sku", q.lower()), SKU_BOOST)
            main = Q.boolean_query([(Occur.Should, main), (Occur.Should, sku)])
        return TextQuery(main, list(dict.fromkeys(stems)))

    def plain_bm25(self, q: str) -> tantivy.Query | None:
        """The baseline for relevance evaluation: OR of the words over all text fields, no
        boosts, fuzziness, synonyms or quality prior."""
        stems = list(dict.fromkeys(t.stem for t in analysis.terms(q)[:MAX_QUERY_TERMS]))
        clauses = [
            (Occur.Should, Q.term_query(self.schema, f, s)) for s in stems for f in TEXT_FIELDS
        ]
        return Q.boolean_query(clauses) if clauses else None

    def highlight(self, stems: list[str], field_name: str) -> tantivy.Query:
        return Q.boolean_query(
            [(Occur.Should, Q.term_query(self.schema, field_name, s)) for s in stems]
        )

    # -- filters ---------------------------------------------------------------------------
    def filters(self, f: SearchFilters) -> list[tantivy.Query]:
        out: list[tantivy.Query] = []
        if f.category:
            out.append(Q.term_query(self.schema, "category_paths", f.category))
        if f.brands:
            keys = list(dict.fromkeys(b.casefold() for b in f.brands))
            out.append(Q.term_set_query(self.schema, "brand_key", keys))
        if f.price_min is not None or f.price_max is not None:
            out.append(
                Q.range_query(
                    self.schema, "price_minor", tantivy.FieldType.Integer,
                    f.price_min, f.price_max,
                )
            )
        if f.min_rating is not None:
            out.append(
                Q.range_query(
                    self.schema, "rating_avg", tantivy.FieldType.Float, f.min_rating, None
                )
            )
        if f.in_stock is not None:
            out.append(Q.term_query(self.schema, "in_stock", f.in_stock))
        return out

    @staticmethod
    def combine(text: tantivy.Query | None, filters: list[tantivy.Query]) -> tantivy.Query:
        """Filters restrict without scoring (constant 0), so they never reorder hits."""
        if not filters:
            return text if text is not None else Q.all_query()
        clauses = [(Occur.Must, Q.const_score_query(f, 0.0)) for f in filters]
        if text is not None:
            clauses.insert(0, (Occur.Must, text))
        return Q.boolean_query(clauses)

