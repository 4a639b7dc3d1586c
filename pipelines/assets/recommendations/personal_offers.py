"""`personal_offers`: offers for regular customers, from the RFM segments and marketers' rules."""

import dagster as dg

from pipelines.assets._deps import WAREHOUSE_TAGS
from pipelines.resources import RedisResource, WarehouseResource


@dg.asset(group_name="recommendations", deps=["rfm_segments"], kinds={"redis"}, op_tags=WAREHOUSE_TAGS)
def personal_offers(context: dg.AssetExecutionContext, warehouse: WarehouseResource,
                    redis: RedisResource) -> dg.MaterializeResult:
    """Each customer of a segment with an active rule (e.g. loyal, at_risk; rules are set by
    marketers through the recommendations service's admin API) gets that rule's offer, unless
    they still hold one. Each grant is stored and announced as `recommendation.offer_granted`
    on `shop:events:recommendations` (tagged with its campaign) for the cart and notifications."""
    from pipelines.assets.recommendations import _source
    from services.recommendations.service import Offers

    with warehouse.builder().connect() as con:
        customers = _source.segments(con)
    offers = Offers(redis.client())
    rules = [r for r in offers.rules() if r.active]
    summary = offers.grant(customers)
    context.log.info(f"{summary.granted} offers granted to {summary.customers} segmented customers "
                     f"({len(rules)} active rules)")
    return dg.MaterializeResult(metadata={
        "granted": summary.granted,
        "already_held": summary.already_held,
        "customers": summary.customers,
        "active_rules": len(rules),
        "by_campaign": dg.MetadataValue.json(summary.by_campaign),
    })
