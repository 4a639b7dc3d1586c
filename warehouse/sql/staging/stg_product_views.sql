-- Product detail views, one row per event id.
SELECT
    event_id,
    "date" AS event_date,
    occurred_at AT TIME ZONE 'UTC' AS occurred_at,
    ingested_at AT TIME ZONE 'UTC' AS ingested_at,
    session_id,
    anonymous_id,
    user_id,
    product_id,
    sku,
    category,
    source
FROM raw.product_view
WHERE {{partitions}}
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ingested_at) = 1
