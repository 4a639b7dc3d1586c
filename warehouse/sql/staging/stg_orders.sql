-- Placed orders (the price snapshot's header), one row per event id.
SELECT
    event_id,
    "date" AS event_date,
    occurred_at AT TIME ZONE 'UTC' AS placed_at,
    ingested_at AT TIME ZONE 'UTC' AS ingested_at,
    order_id,
    user_id,
    session_id,
    subtotal_minor,
    discount_minor,
    shipping_minor,
    total_minor,
    upper(currency) AS currency,
    coalesce(promo_codes, []) AS promo_codes,
    coalesce(campaign_ids, []) AS campaign_ids
FROM raw.order_placed
WHERE {{partitions}}
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ingested_at) = 1
