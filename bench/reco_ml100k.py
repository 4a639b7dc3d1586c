"""MovieLens 100K benchmark: our recommenders beside the published MS Recommenders rows.

Same as `shop reco benchmark`; writes bench/results/reco_ml100k.json (+ .png bar chart).
"""

from __future__ import annotations

import os

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

from pathlib import Path  # noqa: E402

OUT = Path(__file__).parent / "results" / "reco_ml100k.json"


def main() -> None:
    from models import benchmark as bm

    result = bm.run(split="legacy", repeats=3)
    current = bm.run(split="current", repeats=1, models=[result["best"]["model"]], progress=lambda _: None)
    result["best_on_current_ms_split"] = {
        k: current["ours"][0][k] for k in ("model", "map", "ndcg_at_k", "precision_at_k", "recall_at_k")
    }
    bm.write(result, OUT)
    print(bm.table(result))
    print(
        f"best model on the current-MS split: nDCG@10 {result['best_on_current_ms_split']['ndcg_at_k']:.4f}"
    )
    print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
