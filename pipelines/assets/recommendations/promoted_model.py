"""`promoted_model`: the registry's gate between the best candidate and the model in service."""

import dagster as dg

from pipelines.resources import RecommendationsResource


@dg.asset(group_name="recommendations", deps=["reco_evaluation"], kinds={"python"})
def promoted_model(context: dg.AssetExecutionContext, reco: RecommendationsResource) -> dg.MaterializeResult:
    """Promote the best candidate only if it beats the model in service on the held-out metric;
    the metadata says what was decided and why. A refusal is a normal outcome, not a failure.
    A model in service whose artifacts no longer verify is replaced by the candidate."""
    from models.registry import PRIMARY_METRIC, PromotionRefused, RegistryError
    from pipelines.assets.recommendations._report import read_json

    best = read_json(reco.path("evaluation.json"), "reco_evaluation")["best"]
    registry = reco.registry()
    current = registry.in_service()
    force = False
    if current:
        try:
            registry.verify(current)
        except RegistryError as exc:
            force = True
            context.log.warning(f"the model in service {current} is unusable ({exc}); replacing it")
    try:
        decision = registry.promote(best["version"], metric=PRIMARY_METRIC, force=force)
        promoted = True
        reason = ("no model was in service" if not current
                  else f"{current} in service was corrupt" if force
                  else f"{current} is already in service" if current == best["version"]
                  else f"{best['version']} beats {current} on {PRIMARY_METRIC}")
    except PromotionRefused as exc:
        decision, promoted, reason = {}, False, str(exc)
    context.log.info(f"promoted={promoted}: {reason}")
    return dg.MaterializeResult(metadata={
        "promoted": promoted,
        "reason": reason,
        "candidate": best["version"],
        "in_service": registry.in_service() or "",
        "decision": dg.MetadataValue.json(decision),
    })
