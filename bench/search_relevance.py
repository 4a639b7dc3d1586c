"""Relevance benchmark: our ranking vs plain BM25 on the DummyJSON known-item set, same run.

Run: python -m bench.search_relevance  ->  bench/results/search_relevance.json
"""

from __future__ import annotations

from search.cli import RELEVANCE_OUT, eval_cmd


def main() -> None:
    eval_cmd(output=RELEVANCE_OUT)


if __name__ == "__main__":
    main()
