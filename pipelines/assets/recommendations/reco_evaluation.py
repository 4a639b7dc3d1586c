"""`reco_evaluation`: candidates beside the model in service, on the same held-out data."""

import dagster as dg

from pipelines.resources import RecommendationsResource


@dg.asset(group_name="recommendations", deps=["reco_candidates"], kinds={"python"})
def reco_evaluation(context: dg.AssetExecutionContext, reco: RecommendationsResource) -> dg.MaterializeResult:
    """Time-split metrics (precision, recall, MAP, nDCG at k, coverage) of every candidate and of
    the model in service re-scored on this snapshot's held-out part (recorded in its manifest,
    so the promotion gate compares like for like), a plot, and the best candidate by nDCG."""
    from models.pipeline import evaluate_in_space, load_interactions
    from models.registry import PRIMARY_METRIC, RegistryError
    from pipelines.assets.recommendations._report import (
        markdown_table,
        plot_metrics,
        read_json,
        write_json,
    )

    found = read_json(reco.path("candidates.json"), "reco_candidates")
    candidates = found["candidates"]
    if not candidates:
        raise dg.Failure("no candidates were trained")
    registry = reco.registry()
    rows = [{"label": f"{c['candidate']} ({c['version']})", **c} for c in candidates]
    current = registry.in_service()
    served = None
    if current and current not in {c["version"] for c in candidates}:
        snapshot = candidates[0]["evaluation_snapshot"]
        try:
            loaded = registry.load(current)
            frame = load_interactions(reco.path("interactions.parquet"))
            config = reco.train_config(loaded.manifest["model_type"], {})
            metrics = evaluate_in_space(loaded.model, loaded.user_ids, loaded.item_ids, frame, config)
            registry.record_evaluation(current, snapshot, metrics)
            served = {"label": f"in service ({current})", "candidate": "in service",
                      "version": current, "metrics": metrics}
            rows.append(served)
        except (RegistryError, ValueError, KeyError) as exc:
            context.log.warning(f"the model in service {current} cannot be re-scored: {exc}")
    best = max(candidates, key=lambda c: (c["metrics"].get(PRIMARY_METRIC, 0.0), -candidates.index(c)))
    plot = reco.path("evaluation.png")
    plot_metrics(plot, rows, f"held-out metrics @{reco.k} ({found['data_snapshot']})")
    write_json(reco.path("evaluation.json"), {"best": best, "in_service": served, "rows": rows,
                                              "metric": PRIMARY_METRIC})
    table = [{"model": r["label"], **r["metrics"]} for r in rows]
    context.log.info(f"best candidate: {best['candidate']} {best['version']} "
                     f"{PRIMARY_METRIC}={best['metrics'].get(PRIMARY_METRIC, 0.0):.4f}")
    return dg.MaterializeResult(metadata={
        "metrics": dg.MetadataValue.md(markdown_table(
            table, ["model", "ndcg_at_k", "map", "precision_at_k", "recall_at_k", "coverage"])),
        "best_candidate": best["candidate"],
        "best_version": best["version"],
        "plot": dg.MetadataValue.path(str(plot)),
    })
