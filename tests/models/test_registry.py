"""Registry: versions, promotion gate, rollback, corrupted artifacts."""

from __future__ import annotations

import numpy as np
import pytest

from models.data import InteractionMatrix
from models.registry import CorruptArtifactError, PromotionRefused, Registry, RegistryError
from models.zoo import build


@pytest.fixture
def data(clustered) -> InteractionMatrix:
    train, _, _ = clustered
    return InteractionMatrix(
        matrix=train,
        user_ids=np.array([f"user-{i}" for i in range(train.shape[0])], dtype=object),
        item_ids=np.arange(100, 100 + train.shape[1]),
    )


def _save(reg: Registry, data: InteractionMatrix, ndcg: float, snapshot: str = "s1") -> str:
    model = build("ease", {"l2": 5.0}).fit(data.matrix)
    return reg.save(model, data, metrics={"ndcg_at_k": ndcg, "map": ndcg / 3}, data_snapshot=snapshot)


def test_save_load_and_serving_arrays(tmp_path, data) -> None:
    reg = Registry(tmp_path)
    v1 = _save(reg, data, 0.30)
    assert v1 == "v0001" and reg.versions() == ["v0001"]
    loaded = reg.load(v1)
    assert loaded.user_ids[0] == "user-0" and loaded.item_ids[0] == 100
    ids, _ = loaded.model.recommend(np.arange(3), data.matrix, N=5)
    serving = reg.load_serving(v1)
    np.testing.assert_array_equal(serving.top_items[:3, :5], ids)
    assert serving.similar_items.shape == (data.shape[1], 20)
    assert (tmp_path / v1 / "metrics.png").stat().st_size > 0
    manifest = reg.manifest(v1)
    assert manifest["params"]["l2"] == 5.0 and manifest["data_snapshot"] == "s1"


def test_promotion_gate_and_rollback(tmp_path, data) -> None:
    reg = Registry(tmp_path)
    with pytest.raises(RegistryError, match="no model is in service"):
        reg.load_serving()
    v1 = _save(reg, data, 0.30)
    reg.promote(v1)  # nothing in service: the first model is promoted
    v2 = _save(reg, data, 0.25)
    with pytest.raises(PromotionRefused, match=r"ndcg_at_k=0.25 does not beat v0001.*0.3"):
        reg.promote(v2)
    assert reg.in_service() == v1
    v3 = _save(reg, data, 0.35)
    decision = reg.promote(v3)
    assert decision["candidate_value"] == 0.35 and decision["current_value"] == 0.30
    assert reg.in_service() == v3
    assert reg.rollback() == v1  # back to the one served before
    assert reg.in_service() == v1
    assert reg.rollback(v3) == v3  # or to any version
    rows = {r["version"]: r for r in reg.list()}
    assert rows[v3]["in_service"] and not rows[v1]["in_service"]
    assert [h["action"] for h in reg.history()] == ["promote", "promote", "rollback", "rollback"]


def test_promotion_needs_the_same_held_out_snapshot(tmp_path, data) -> None:
    reg = Registry(tmp_path)
    reg.promote(_save(reg, data, 0.30, snapshot="day-1"))
    v2 = _save(reg, data, 0.40, snapshot="day-2")
    with pytest.raises(PromotionRefused, match="evaluate it there first"):
        reg.promote(v2)
    reg.record_evaluation("v0001", "day-2", {"ndcg_at_k": 0.45})
    with pytest.raises(PromotionRefused):
        reg.promote(v2)  # 0.40 < 0.45 on day-2
    reg.record_evaluation("v0001", "day-2", {"ndcg_at_k": 0.20})
    reg.promote(v2)
    assert reg.in_service() == v2


def test_corrupted_artifact_is_a_clear_error_and_last_good_stays(tmp_path, data) -> None:
    reg = Registry(tmp_path)
    v1 = _save(reg, data, 0.30)
    reg.promote(v1)
    v2 = _save(reg, data, 0.40)
    reg.promote(v2)
    (tmp_path / v2 / "serving.npz").write_bytes(b"truncated")
    with pytest.raises(CorruptArtifactError, match="serving.npz does not match its checksum"):
        reg.load_serving(v2)
    assert reg.load_last_good().version == v1  # the previous model keeps serving
    v3 = _save(reg, data, 0.50)
    (tmp_path / v3 / "model.npz").unlink()
    with pytest.raises(CorruptArtifactError, match="model.npz is missing"):
        reg.promote(v3)
    assert reg.in_service() == v2  # pointer not moved to a broken model
    (tmp_path / v1 / "manifest.json").write_text("{not json")
    with pytest.raises(CorruptArtifactError, match="not valid JSON"):
        reg.load(v1)
