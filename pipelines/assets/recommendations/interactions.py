"""`interactions`: the weighted implicit-feedback rows the recommenders train on."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS
from pipelines.resources import RecommendationsResource, WarehouseResource

SOURCES = [dg.AssetKey(k) for k in ("stg_product_views", "stg_add_to_cart", "order_items", "orders",
                                    "sessions", "products")]


@dg.asset(group_name="recommendations", deps=SOURCES, kinds={"duckdb", "parquet"},
          op_tags=WAREHOUSE_TAGS)
def interactions(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                 reco: RecommendationsResource) -> dg.MaterializeResult:
    """Product views and add-to-carts (anonymous sessions stitched to their shopper), purchases
    and review ratings of sellable products, one row per interaction with its `weight` (kind
    weight x stars x time decay; see the `reco` resource). Written as Parquet for training."""
    from pipelines.assets.recommendations import _source
    from pipelines.assets.recommendations._report import markdown_table

    path = reco.path("interactions.parquet")
    with warehouse.builder().connect() as con:
        frame = _source.write_interactions(con, path, reco.weights())
    kinds = frame.group_by("event_type").len().sort("event_type").to_dicts()
    context.log.info(f"{frame.height} interactions of {frame['user_id'].n_unique()} users on "
                     f"{frame['item_id'].n_unique()} items -> {path}")
    return dg.MaterializeResult(metadata={
        "dagster/row_count": frame.height,
        "users": frame["user_id"].n_unique(),
        "items": frame["item_id"].n_unique(),
        "by_kind": dg.MetadataValue.md(markdown_table(kinds, ["event_type", "len"])),
        "weights": dg.MetadataValue.json(reco.weights().to_dict()),
        "path": dg.MetadataValue.path(str(path)),
    })
