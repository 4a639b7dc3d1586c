-- Add-to-cart clicks from the storefront (the funnel's cart step), one row per event id.
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
    quantity,
    unit_price_minor,
    currency
FROM raw.add_to_cart
WHERE {{partitions}}
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ingested_at) = 1
