"""Engine choice from the environment, and the `eval` command end to end."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from search.cli import app
from search.config import SearchSettings, make_backend
from search.tantivy_backend import TantivyBackend


def test_embedded_engine_by_default(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("OPENSEARCH_URL", raising=False)
    monkeypatch.setenv("SEARCH_DIR", str(tmp_path / "idx"))
    backend = make_backend()
    assert isinstance(backend, TantivyBackend) and backend.dir == tmp_path / "idx" / "products"


def test_unreachable_opensearch_fails_clearly() -> None:
    settings = SearchSettings(opensearch_url="http://127.0.0.1:1")  # nothing listens there
    with pytest.raises(RuntimeError, match="does not answer"):
        make_backend(settings)


def test_eval_command_writes_the_report(tmp_path: Path) -> None:
    out = tmp_path / "relevance.json"
    result = CliRunner().invoke(app, ["eval", "--output", str(out)])
    assert result.exit_code == 0, result.output
    report = json.loads(out.read_text())
    assert report["cases"] >= 40
    assert {"mrr@10", "ndcg@10"} <= set(report["ours"]) and "bm25" in report
    assert "mrr@10" in result.output
