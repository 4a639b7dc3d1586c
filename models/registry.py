"""Versioned model registry on the filesystem: save, list, load, promote, rollback.

Layout (default ``data/models/``, or ``$SHOP_MODELS_DIR``)::

    registry.json        {"in_service": "v0003", "history": [...]}  (atomic replace)
    v0003/manifest.json  type, params, data snapshot id, metrics per evaluation, checksums
    v0003/model.npz      fitted arrays (``Recommender.full_state``), loaded without pickle
    v0003/ids.npz        user_ids / item_ids (matrix row/column -> source id)
    v0003/serving.npz    precomputed top-N per user, similar items per item, popular items
    v0003/metrics.png    this version's metrics beside the model in service when it was saved

Why precompute serving arrays: the recommendations service only needs ``serving.npz`` + ids to
answer in microseconds, without importing implicit or refitting. Every file is checksummed, so a
truncated or edited artifact fails loudly (:class:`CorruptArtifactError`) and the pointer to the
model in service is never moved to a model that does not load.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from models.base import Recommender
from models.data import InteractionMatrix
from models.zoo import build

DEFAULT_DIR = Path("data/models")
PRIMARY_METRIC = "ndcg_at_k"
FILES = ("model.npz", "ids.npz", "serving.npz")


class RegistryError(RuntimeError):
    """Base class of registry errors (all carry a human-readable message)."""


class CorruptArtifactError(RegistryError):
    """A version's files are missing, truncated or do not match their checksums."""


class PromotionRefused(RegistryError):
    """The candidate does not beat the model in service on the held-out metric."""


def default_dir() -> Path:
    return Path(os.environ.get("SHOP_MODELS_DIR", DEFAULT_DIR))


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _ids_array(ids: NDArray) -> NDArray:
    """Ids as a pickle-free array (numbers stay numbers, anything else becomes unicode)."""
    arr = np.asarray(ids)
    return arr.astype(np.str_) if arr.dtype == object else arr


def _write_json(path: Path, data: Any) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True)
        fh.write("\n")
    os.replace(tmp, path)


@dataclass
class Serving:
    """What a recommendations service loads: precomputed lists and id maps."""

    version: str
    user_ids: NDArray
    item_ids: NDArray
    top_items: NDArray[np.int64]
    top_scores: NDArray[np.float32]
    similar_items: NDArray[np.int64]
    similar_scores: NDArray[np.float32]
    popular_items: NDArray[np.int64]


@dataclass
class LoadedModel:
    version: str
    manifest: dict[str, Any]
    model: Recommender
    user_ids: NDArray
    item_ids: NDArray


class Registry:
    """Filesystem registry; safe to read while another process writes a new version."""

    def __init__(self, root: Path | str | None = None) -> None:
        self.root = Path(root) if root is not None else default_dir()
        self.root.mkdir(parents=True, exist_ok=True)

    # -- state ----------------------------------------------------------------------------------
    @property
    def _state_path(self) -> Path:
        return self.root / "registry.json"

    def _state(self) -> dict[str, Any]:
        if not self._state_path.exists():
            return {"in_service": None, "history": []}
        return json.loads(self._state_path.read_text())

    def _set_in_service(self, version: str | None, action: str, detail: dict[str, Any]) -> None:
        state = self._state()
        previous = state.get("in_service")
        state["in_service"] = version
        state["history"].append(
            {
                "at": datetime.now(UTC).isoformat(),
                "action": action,
                "version": version,
                "previous": previous,
                **detail,
            }
        )
        _write_json(self._state_path, state)

    def in_service(self) -> str | None:
        return self._state().get("in_service")

    def history(self) -> list[dict[str, Any]]:
        return list(self._state()["history"])

    def versions(self) -> list[str]:
        return sorted(p.name for p in self.root.glob("v[0-9]*") if (p / "manifest.json").exists())

    def manifest(self, version: str) -> dict[str, Any]:
        path = self.root / version / "manifest.json"
        if not path.exists():
            raise RegistryError(f"no model version {version!r} in {self.root}")
        try:
            return json.loads(path.read_text())
        except json.JSONDecodeError as exc:
            raise CorruptArtifactError(f"{version}: manifest.json is not valid JSON ({exc})") from exc

    def list(self) -> list[dict[str, Any]]:
        """Every version with its type, snapshot, metrics and whether it is in service."""
        current = self.in_service()
        rows = []
        for version in self.versions():
            try:
                m = self.manifest(version)
            except CorruptArtifactError as exc:
                rows.append({"version": version, "error": str(exc), "in_service": version == current})
                continue
            rows.append(
                {
                    "version": version,
                    "model_type": m["model_type"],
                    "created_at": m["created_at"],
                    "data_snapshot": m["data_snapshot"],
                    "metrics": m.get("metrics", {}),
                    "in_service": version == current,
                }
            )
        return rows

    # -- save -----------------------------------------------------------------------------------
    def _next_version(self) -> str:
        existing = [int(v[1:]) for v in self.versions()]
        existing += [int(p.name[1:]) for p in self.root.glob("v[0-9]*") if p.name[1:].isdigit()]
        return f"v{max(existing, default=0) + 1:04d}"

    def save(
        self,
        model: Recommender,
        data: InteractionMatrix,
        *,
        metrics: dict[str, float],
        data_snapshot: str,
        evaluation_snapshot: str | None = None,
        top_n: int = 50,
        similar_n: int = 20,
        extra: dict[str, Any] | None = None,
    ) -> str:
        """Write a new version (atomically: a temp dir renamed into place); returns its name."""
        tmp = Path(tempfile.mkdtemp(dir=self.root, prefix=".new-"))
        try:
            np.savez(tmp / "model.npz", **model.full_state())
            np.savez(tmp / "ids.npz", user_ids=_ids_array(data.user_ids), item_ids=_ids_array(data.item_ids))
            users = np.arange(data.shape[0])
            top_items, top_scores = model.recommend(users, data.matrix, N=top_n)
            sim_items, sim_scores = model.similar_items(np.arange(data.shape[1]), N=similar_n)
            popularity = np.bincount(data.matrix.indices, minlength=data.shape[1])
            popular = np.lexsort((np.arange(data.shape[1]), -popularity))[:top_n]
            np.savez(
                tmp / "serving.npz",
                top_items=top_items,
                top_scores=top_scores,
                similar_items=sim_items,
                similar_scores=sim_scores,
                popular_items=popular.astype(np.int64),
            )
            evaluation_snapshot = evaluation_snapshot or data_snapshot
            manifest = {
                "model_type": model.name,
                "params": model.get_params(),
                "data_snapshot": data_snapshot,
                "created_at": datetime.now(UTC).isoformat(),
                "shape": list(data.shape),
                "metrics": metrics,
                "evaluation_snapshot": evaluation_snapshot,
                "evaluations": {evaluation_snapshot: metrics},
                "checksums": {name: _sha256(tmp / name) for name in FILES},
                **(extra or {}),
            }
            while True:
                version = self._next_version()
                manifest["version"] = version
                _write_json(tmp / "manifest.json", manifest)
                self._plot(tmp / "metrics.png", version, metrics)
                try:
                    tmp.rename(self.root / version)
                    return version
                except OSError:  # another writer took this number; take the next one
                    continue
        except BaseException:
            shutil.rmtree(tmp, ignore_errors=True)
            raise

    def record_evaluation(self, version: str, snapshot: str, metrics: dict[str, float]) -> None:
        """Attach metrics measured on another held-out snapshot (e.g. a newer day)."""
        manifest = self.manifest(version)
        manifest.setdefault("evaluations", {})[snapshot] = metrics
        _write_json(self.root / version / "manifest.json", manifest)

    def _plot(self, path: Path, version: str, metrics: dict[str, float]) -> None:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        names = [k for k in ("map", "ndcg_at_k", "precision_at_k", "recall_at_k", "coverage") if k in metrics]
        series = {version: [metrics[k] for k in names]}
        current = self.in_service()
        if current:
            try:
                cm = self.manifest(current).get("metrics", {})
                series[f"{current} (in service)"] = [cm.get(k, 0.0) for k in names]
            except RegistryError:
                pass
        fig, ax = plt.subplots(figsize=(7, 3.2))
        width = 0.8 / len(series)
        for i, (label, values) in enumerate(series.items()):
            ax.bar(np.arange(len(names)) + i * width, values, width, label=label)
        ax.set_xticks(np.arange(len(names)) + width * (len(series) - 1) / 2, names)
        ax.set_title(f"held-out metrics of {version}")
        ax.legend()
        fig.tight_layout()
        fig.savefig(path, dpi=90)
        plt.close(fig)

    # -- load -----------------------------------------------------------------------------------
    def verify(self, version: str) -> dict[str, Any]:
        """Check every file against its checksum; returns the manifest."""
        manifest = self.manifest(version)
        for name, expected in manifest.get("checksums", {}).items():
            path = self.root / version / name
            if not path.exists():
                raise CorruptArtifactError(f"{version}: {name} is missing")
            if _sha256(path) != expected:
                raise CorruptArtifactError(f"{version}: {name} does not match its checksum")
        return manifest

    def _npz(self, version: str, name: str) -> dict[str, NDArray]:
        try:
            with np.load(self.root / version / name, allow_pickle=False) as z:
                return {k: z[k] for k in z.files}
        except (OSError, ValueError, EOFError) as exc:
            raise CorruptArtifactError(f"{version}: cannot read {name} ({exc})") from exc

    def load(self, version: str | None = None) -> LoadedModel:
        """The fitted model of a version (default: the one in service)."""
        version = version or self._require_in_service()
        manifest = self.verify(version)
        arrays = self._npz(version, "model.npz")
        ids = self._npz(version, "ids.npz")
        try:
            cls = type(build(manifest["model_type"], manifest["params"]))
            model = cls.from_state(manifest["params"], arrays)
        except (KeyError, ValueError, TypeError) as exc:
            raise CorruptArtifactError(f"{version}: cannot rebuild the model ({exc})") from exc
        return LoadedModel(version, manifest, model, ids["user_ids"], ids["item_ids"])

    def load_serving(self, version: str | None = None) -> Serving:
        """Precomputed lists of a version (default: in service); no model code needed."""
        version = version or self._require_in_service()
        self.verify(version)
        s = self._npz(version, "serving.npz")
        ids = self._npz(version, "ids.npz")
        return Serving(
            version=version,
            user_ids=ids["user_ids"],
            item_ids=ids["item_ids"],
            top_items=s["top_items"],
            top_scores=s["top_scores"],
            similar_items=s["similar_items"],
            similar_scores=s["similar_scores"],
            popular_items=s["popular_items"],
        )

    def load_last_good(self) -> Serving:
        """The in-service version, or else the most recent previously-served one that loads."""
        candidates = [self.in_service()] + [
            h["previous"] for h in reversed(self.history()) if h.get("previous")
        ]
        errors = []
        for version in dict.fromkeys(v for v in candidates if v):
            try:
                return self.load_serving(version)
            except RegistryError as exc:
                errors.append(str(exc))
        raise CorruptArtifactError("no loadable model in service: " + "; ".join(errors or ["none"]))

    def _require_in_service(self) -> str:
        version = self.in_service()
        if version is None:
            raise RegistryError("no model is in service yet: promote one first")
        return version

    # -- promote / rollback ---------------------------------------------------------------------
    def promote(self, version: str, *, metric: str = PRIMARY_METRIC, force: bool = False) -> dict[str, Any]:
        """Put ``version`` in service if it beats the current one on ``metric``.

        Both must have been evaluated on the same held-out snapshot (the candidate's own), so the
        comparison is like for like; otherwise, or when not strictly better, PromotionRefused.
        """
        candidate = self.verify(version)
        self.load(version)  # must load, not just checksum
        current = self.in_service()
        decision: dict[str, Any] = {"metric": metric, "candidate": version, "current": current}
        if current and current != version and not force:
            snapshot = candidate["evaluation_snapshot"]
            ours = candidate["evaluations"].get(snapshot, candidate["metrics"]).get(metric)
            theirs_all = self.manifest(current).get("evaluations", {})
            if snapshot not in theirs_all:
                raise PromotionRefused(
                    f"refused: {current} (in service) has no {metric} on held-out snapshot "
                    f"{snapshot!r}; evaluate it there first (shop reco evaluate {current} ...)"
                )
            theirs = theirs_all[snapshot].get(metric)
            decision.update(candidate_value=ours, current_value=theirs, snapshot=snapshot)
            if ours is None or theirs is None or not ours > theirs:
                raise PromotionRefused(
                    f"refused: {version} {metric}={ours} does not beat {current} (in service) "
                    f"{metric}={theirs} on snapshot {snapshot!r}"
                )
        self._set_in_service(version, "promote", {k: v for k, v in decision.items() if k != "current"})
        return decision

    def rollback(self, version: str | None = None) -> str:
        """Serve ``version`` again (default: the one served before the current one)."""
        if version is None:
            current = self.in_service()
            previous = [
                h["previous"]
                for h in reversed(self.history())
                if h["version"] == current and h.get("previous")
            ]
            if not previous:
                raise RegistryError("nothing to roll back to: no earlier version was in service")
            version = previous[0]
        self.verify(version)
        self.load(version)
        self._set_in_service(version, "rollback", {})
        return version
