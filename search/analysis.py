"""English text analysis for the embedded engine, used for indexing and querying alike.

tantivy's built-in `en_stem` lacks ASCII folding and stop words, so we register our own chain:
simple tokenizer -> drop overlong tokens -> lowercase -> ASCII folding -> English stop words ->
Snowball English stemmer. Autocomplete uses per-word edge n-grams.
"""

from __future__ import annotations

from functools import lru_cache

import tantivy

from search.synonyms import Synonyms, Term

EN = "en_fold_stem"  # full-text fields
WORDS = "en_fold"  # unstemmed words (spelling suggestions, keyword keys)
EDGE = "edge_ngram"  # autocomplete prefixes of each word
MAX_TOKEN_CHARS = 40
MAX_EDGE_GRAM = 20


def _builder() -> tantivy.TextAnalyzerBuilder:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.simple())
        .filter(tantivy.Filter.remove_long(MAX_TOKEN_CHARS))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
    )


@lru_cache(maxsize=1)
def en_analyzer() -> tantivy.TextAnalyzer:
    return (
        _builder()
        .filter(tantivy.Filter.stopword("english"))
        .filter(tantivy.Filter.stemmer("english"))
        .build()
    )


@lru_cache(maxsize=1)
def word_analyzer() -> tantivy.TextAnalyzer:
    return _builder().build()


@lru_cache(maxsize=1)
def edge_analyzer() -> tantivy.TextAnalyzer:
    return (
        tantivy.TextAnalyzerBuilder(tantivy.Tokenizer.ngram(1, MAX_EDGE_GRAM, True))
        .filter(tantivy.Filter.lowercase())
        .filter(tantivy.Filter.ascii_fold())
        .build()
    )


def register(index: tantivy.Index) -> None:
    """Tokenizers are not persisted by tantivy: register them on every Index object."""
    index.register_tokenizer(EN, en_analyzer())
    index.register_tokenizer(WORDS, word_analyzer())
    index.register_tokenizer(EDGE, edge_analyzer())


def words(text: str) -> list[str]:
    """Lowercased, ASCII-folded words of a text; punctuation and query syntax are separators."""
    return word_analyzer().analyze(text)


def terms(text: str) -> list[Term]:
    """Query words with their stems; stop words are dropped (they are not indexed either)."""
    stem = en_analyzer().analyze
    out: list[Term] = []
    for word in words(text):
        stems = stem(word)
        if stems:
            out.append(Term(word=word, stem=stems[0]))
    return out


@lru_cache(maxsize=1)
def default_synonyms() -> Synonyms:
    return Synonyms.load(terms)
