"""`published_recommendations`: the model in service's lists, written to Redis for serving."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS
from pipelines.resources import RecommendationsResource, RedisResource, WarehouseResource


class PublishConfig(dg.Config):
    top_n: int = 50
    similar_n: int = 20
    bought_together_n: int = 20
    popular_n: int = 100
    keep_publications: int = 2


@dg.asset(group_name="recommendations",
          deps=["promoted_model", "order_items", "products", "product_popularity"],
          kinds={"redis"}, op_tags=WAREHOUSE_TAGS)
def published_recommendations(context: dg.AssetExecutionContext, config: PublishConfig,
                              warehouse: WarehouseResource, reco: RecommendationsResource,
                              redis: RedisResource) -> dg.MaterializeResult:
    """Top-N per user and similar items per item from the model in service (or, when its
    artifacts are corrupt, the last good one), TF-IDF neighbours for items nobody interacted
    with, frequently-bought-together from order co-occurrence, purchases and popularity:
    written under a new version prefix in Redis, then switched on by one pointer write."""
    from pipelines.assets.recommendations import _source
    from pipelines.assets.recommendations._publication import build_publication
    from services.recommendations.store import write_publication

    registry = reco.registry()
    serving = registry.load_last_good()
    in_service = registry.in_service()
    if serving.version != in_service:
        context.log.warning(f"{in_service} does not load; publishing the last good {serving.version}")
    manifest = registry.manifest(serving.version)
    with warehouse.builder().connect() as con:
        sources = {
            "catalogue": _source.catalogue(con),
            "bought_together": _source.bought_together(con, per_item=config.bought_together_n),
            "bought": _source.bought(con),
            "popularity": _source.popularity(con, top=config.popular_n),
        }
    publication = build_publication(serving, manifest["model_type"], sources, top_n=config.top_n,
                                    similar_n=config.similar_n, popular_n=config.popular_n)
    publication_id = write_publication(redis.client(), publication, keep=config.keep_publications,
                                       progress=context.log.info)
    content_items = sum(1 for s in publication.similar_source.values() if s == "content")
    return dg.MaterializeResult(metadata={
        "publication": publication_id,
        "model": publication.model,
        "fell_back_to_last_good": serving.version != in_service,
        "users": len(publication.users),
        "items": len(publication.items),
        "items_with_content_neighbours": content_items,
        "items_with_bought_together": len(publication.bought_together),
        "popular_preview": [i for i, _ in publication.popular[:10]],
    })
