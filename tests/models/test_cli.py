"""`shop reco` commands end to end on a small interactions Parquet file."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl
import pytest
from typer.testing import CliRunner

from models.cli import app

runner = CliRunner()


@pytest.fixture
def interactions(tmp_path: Path) -> Path:
    rng = np.random.default_rng(3)
    start = datetime(2024, 1, 1)
    rows = []
    for u in range(80):
        cluster = u % 4
        for step in range(12):
            item = cluster * 15 + int(rng.integers(15)) if rng.random() < 0.85 else int(rng.integers(60))
            kind = ["view", "view", "add_to_cart", "purchase"][int(rng.integers(4))]
            rows.append((f"u{u}", f"sku-{item}", kind, start + timedelta(days=step, hours=u % 7)))
    df = pl.DataFrame(rows, schema=["user_id", "item_id", "event_type", "timestamp"], orient="row")
    path = tmp_path / "interactions.parquet"
    df.write_parquet(path)
    return path


def _run(*args: str) -> str:
    result = runner.invoke(app, list(args))
    assert result.exit_code == 0, result.output
    return result.output


def test_train_evaluate_promote_rollback_list(tmp_path: Path, interactions: Path) -> None:
    reg = str(tmp_path / "registry")
    out = _run("train", str(interactions), "--model", "popularity", "--registry", reg)
    assert "loaded 960 interactions" in out and "saved v0001" in out
    _run("promote", "v0001", "--registry", reg)
    out = _run("train", str(interactions), "--model", "ease", "--params", '{"l2": 10}', "--registry", reg)
    assert "saved v0002" in out and "ndcg_at_k" in out
    promoted = runner.invoke(app, ["promote", "v0002", "--registry", reg])
    assert promoted.exit_code == 0, promoted.output  # EASE beats popularity on clustered data
    worse = runner.invoke(app, ["promote", "v0001", "--registry", reg])
    assert worse.exit_code == 1 and "refused" in worse.output
    out = _run("evaluate", "v0001", str(interactions), "--registry", reg)
    assert "ndcg_at_k" in out
    assert "in service: v0001" in _run("rollback", "--registry", reg)
    listing = _run("list", "--registry", reg)
    assert "* v0001" in listing and "  v0002" in listing


def test_clear_errors(tmp_path: Path, interactions: Path) -> None:
    reg = str(tmp_path / "registry")
    missing = runner.invoke(app, ["train", str(tmp_path / "nope.parquet"), "--registry", reg])
    assert missing.exit_code == 1 and "not found" in missing.output
    bad = tmp_path / "bad.parquet"
    pl.DataFrame({"user_id": ["a"], "item_id": ["b"]}).write_parquet(bad)
    res = runner.invoke(app, ["train", str(bad), "--registry", reg])
    assert res.exit_code == 1 and "missing column" in res.output
    res = runner.invoke(app, ["train", str(interactions), "--model", "nope", "--registry", reg])
    assert res.exit_code == 1 and "unknown model type" in res.output
    res = runner.invoke(app, ["promote", "v0009", "--registry", reg])
    assert res.exit_code == 1 and "no model version" in res.output
