""""No results" help: find a looser query that does match, engine-independently.

First each word that matches nothing alone is replaced by the closest indexed word (spelling)
or dropped; then, while the words together still match nothing, the rarest word is dropped.
Runs only on the zero-result path, so a few count queries are affordable.
"""

from __future__ import annotations

import difflib
import re
import unicodedata
from collections.abc import Callable

from search.query import SearchQuery
from search.results import RelaxedSuggestion

MAX_WORDS = 12
_WORD_RE = re.compile(r"[^\W_]+")


def plain_words(text: str) -> list[str]:
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode().lower()
    return _WORD_RE.findall(folded)


def closest_word(word: str, candidates: list[tuple[str, int]]) -> str | None:
    """The most similar candidate (ties go to the more frequent word)."""
    slack = max(2, len(word) // 3)  # difflib is slow: compare only plausible lengths
    near = [c for c in candidates if abs(len(c[0]) - len(word)) <= slack]
    by_freq = sorted(near, key=lambda c: -c[1])
    matches = difflib.get_close_matches(word, [c[0] for c in by_freq], n=1, cutoff=0.7)
    return matches[0] if matches else None


def relax(
    query: SearchQuery,
    count: Callable[[SearchQuery], int],
    vocabulary_near: Callable[[str], list[tuple[str, int]]],
) -> RelaxedSuggestion | None:
    original = plain_words(query.q)[:MAX_WORDS]
    if not original:
        return None

    def total(q: str) -> int:
        return count(query.model_copy(update={"q": q}))

    kept: list[tuple[str, int]] = []
    for word in original:
        n = total(word) if len(original) > 1 else 0  # a one-word query already matched nothing
        if n == 0:
            fixed = closest_word(word, vocabulary_near(word))
            n = total(fixed) if fixed else 0
            word = fixed or word
        if n > 0:
            kept.append((word, n))
    while kept:
        candidate = " ".join(w for w, _ in kept)
        if len(kept) == 1:  # its count is already known
            same = candidate == " ".join(original)
            return None if same else RelaxedSuggestion(q=candidate, total=kept[0][1])
        n = total(candidate) if candidate != " ".join(original) else 0
        if n > 0:
            return RelaxedSuggestion(q=candidate, total=n)
        rarest = min(range(len(kept)), key=lambda i: kept[i][1])
        kept.pop(rarest)
    return None
