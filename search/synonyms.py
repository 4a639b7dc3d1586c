"""Query-time synonym expansion for the embedded engine (OpenSearch reads the same file itself).

Rules are matched on analysed (stemmed) tokens, longest phrase first, so "televisions" finds
"tv" and "mobile phones" finds "smartphone". Expanding at query time, not index time, means
editing the file needs no reindex.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

DEFAULT_SYNONYMS = Path(__file__).with_name("synonyms.txt")


@dataclass(frozen=True)
class Term:
    """One query word: what the shopper typed (folded) and its indexed form (stem)."""

    word: str
    stem: str


Phrase = tuple[Term, ...]
Analyze = Callable[[str], list[Term]]


@dataclass(frozen=True)
class Group:
    """A span of the query and its alternatives; the first alternative is the original words."""

    alternatives: tuple[Phrase, ...]

    @property
    def original(self) -> Phrase:
        return self.alternatives[0]


class Synonyms:
    def __init__(self, rules: dict[tuple[str, ...], list[Phrase]]) -> None:
        self._rules = rules
        self._max_len = max((len(k) for k in rules), default=1)

    @classmethod
    def parse(cls, lines: Sequence[str], analyze: Analyze) -> Synonyms:
        rules: dict[tuple[str, ...], list[Phrase]] = {}

        def add(source: Phrase, targets: list[Phrase]) -> None:
            key = tuple(t.stem for t in source)
            bucket = rules.setdefault(key, [])
            for target in targets:
                if tuple(t.stem for t in target) != key and target not in bucket:
                    bucket.append(target)

        for raw in lines:
            line = raw.split("#", 1)[0].strip()
            if not line:
                continue
            if "=>" in line:
                left, right = line.split("=>", 1)
                sources = [p for p in (tuple(analyze(x)) for x in left.split(",")) if p]
                targets = [p for p in (tuple(analyze(x)) for x in right.split(",")) if p]
                for source in sources:
                    add(source, targets)
            else:
                phrases = [p for p in (tuple(analyze(x)) for x in line.split(",")) if p]
                for phrase in phrases:
                    add(phrase, phrases)
        return cls(rules)

    @classmethod
    def load(cls, analyze: Analyze, path: Path = DEFAULT_SYNONYMS) -> Synonyms:
        return cls.parse(path.read_text(encoding="utf-8").splitlines(), analyze)

    def expand(self, terms: Sequence[Term]) -> list[Group]:
        """Split the query into groups, greedily matching the longest synonym phrase."""
        groups: list[Group] = []
        i = 0
        while i < len(terms):
            for length in range(min(self._max_len, len(terms) - i), 0, -1):
                span = tuple(terms[i : i + length])
                alternatives = self._rules.get(tuple(t.stem for t in span))
                if alternatives:
                    groups.append(Group((span, *alternatives)))
                    i += length
                    break
            else:
                groups.append(Group(((terms[i],),)))
                i += 1
        return groups
