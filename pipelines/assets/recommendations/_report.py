"""Metadata helpers of the recommendation assets: markdown tables, the metrics plot, JSON files."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

METRICS = ("ndcg_at_k", "map", "precision_at_k", "recall_at_k", "coverage")


def markdown_table(rows: list[dict[str, Any]], columns: list[str]) -> str:
    def cell(v: Any) -> str:
        return f"{v:.4f}" if isinstance(v, float) else ("" if v is None else str(v))

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in rows]
    return "\n".join(lines)


def write_json(path: Path, data: Any) -> None:
    """Atomic (temp file + rename): a reader never sees half a file."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    with os.fdopen(fd, "w") as fh:
        json.dump(data, fh, indent=2, sort_keys=True, default=str)
    os.replace(tmp, path)


def read_json(path: Path, what: str) -> Any:
    if not path.exists():
        raise FileNotFoundError(f"{path} is missing: materialise `{what}` first")
    return json.loads(path.read_text())


def plot_metrics(path: Path, rows: list[dict[str, Any]], title: str) -> None:
    """Grouped bars: one group per metric, one bar per model (candidates and the one in service)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(8, 3.5))
    width = 0.8 / max(1, len(rows))
    for i, row in enumerate(rows):
        values = [row["metrics"].get(m, 0.0) for m in METRICS]
        ax.bar(np.arange(len(METRICS)) + i * width, values, width, label=row["label"])
    ax.set_xticks(np.arange(len(METRICS)) + width * (len(rows) - 1) / 2, METRICS)
    ax.set_title(title)
    ax.legend(fontsize=7)
    fig.tight_layout()
    fig.savefig(path, dpi=90)
    plt.close(fig)
