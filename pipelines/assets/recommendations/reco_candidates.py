"""`reco_candidates`: every candidate model trained on the same split and saved to the registry."""

import json

import dagster as dg

from pipelines.resources import RecommendationsResource

DEFAULT_CANDIDATES: dict[str, dict] = {
    "popularity": {"type": "popularity", "params": {}},
    "itemknn": {"type": "itemknn", "params": {"k": 50}},
    "als": {"type": "als", "params": {"factors": 32, "iterations": 12, "regularization": 0.05}},
    "ease": {"type": "ease", "params": {"l2": 200.0}},
    "blend": {"type": "blend", "params": {
        "components": [{"type": "ease", "params": {"l2": 200.0}},
                       {"type": "itemknn", "params": {"k": 50}}],
        "weights": [1.0, 0.5]}},
}
"""Baselines (popularity, item-kNN) beside implicit's ALS, EASE and a blend: the gate only
promotes what beats the model in service, so a baseline that wins is served, honestly."""


class CandidatesConfig(dg.Config):
    candidates: list[str] = list(DEFAULT_CANDIDATES)
    overrides_json: str = "{}"
    """JSON `{name: {"type": ..., "params": {...}}}` adding or replacing candidates."""


@dg.asset(group_name="recommendations", deps=["interactions"], kinds={"python"})
def reco_candidates(context: dg.AssetExecutionContext, config: CandidatesConfig,
                    reco: RecommendationsResource) -> dg.MaterializeResult:
    """Each candidate fitted on the train part of a time split (each user's latest interactions
    held out), scored on the held-out part, and saved as a registry version with its metrics."""
    from models.pipeline import load_interactions, snapshot_id, train_and_evaluate
    from pipelines.assets.recommendations._report import markdown_table, write_json

    specs = {**DEFAULT_CANDIDATES, **json.loads(config.overrides_json)}
    unknown = [c for c in config.candidates if c not in specs]
    if unknown:
        raise dg.Failure(f"unknown candidate(s) {unknown}; known: {sorted(specs)}")
    source = reco.path("interactions.parquet")
    frame = load_interactions(source)
    snapshot = snapshot_id(source)
    registry = reco.registry()
    rows = []
    for n, name in enumerate(config.candidates, start=1):
        spec = specs[name]
        train_config = reco.train_config(spec["type"], spec.get("params", {}))
        context.log.info(f"[{n}/{len(config.candidates)}] training {name} ({spec['type']})")
        model, metrics, data = train_and_evaluate(frame, train_config, progress=context.log.info)
        evaluation = f"{snapshot}|{data.split}|k={train_config.k}"
        version = registry.save(model, data.train, metrics=metrics, data_snapshot=snapshot,
                                evaluation_snapshot=evaluation,
                                extra={"candidate": name, "weights": train_config.weights.to_dict(),
                                       "split": data.split})
        rows.append({"candidate": name, "model_type": spec["type"], "version": version,
                     "evaluation_snapshot": evaluation, "metrics": metrics})
    write_json(reco.path("candidates.json"), {"data_snapshot": snapshot, "candidates": rows})
    table = [{"candidate": r["candidate"], "version": r["version"], **r["metrics"]} for r in rows]
    return dg.MaterializeResult(metadata={
        "candidates": dg.MetadataValue.md(markdown_table(
            table, ["candidate", "version", "ndcg_at_k", "map", "precision_at_k", "recall_at_k",
                    "coverage"])),
        "data_snapshot": snapshot,
        "versions": [r["version"] for r in rows],
    })
