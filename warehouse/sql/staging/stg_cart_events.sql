-- Cart service events as one stream: `kind` is item_added, checked_out, promo_code_applied or
-- abandoned; columns a kind does not have are NULL. One row per event id.
WITH events AS (
    SELECT *, 'item_added' AS kind FROM raw.cart_item_added WHERE {{partitions}}
    UNION ALL BY NAME
    SELECT *, 'checked_out' AS kind FROM raw.cart_checked_out WHERE {{partitions}}
    UNION ALL BY NAME
    SELECT *, 'promo_code_applied' AS kind FROM raw.cart_promo_code_applied WHERE {{partitions}}
    UNION ALL BY NAME
    SELECT *, 'abandoned' AS kind FROM raw.cart_abandoned WHERE {{partitions}}
)
SELECT
    event_id,
    "date" AS event_date,
    occurred_at AT TIME ZONE 'UTC' AS occurred_at,
    ingested_at AT TIME ZONE 'UTC' AS ingested_at,
    kind,
    cart_id,
    session_id,
    user_id,
    CAST(product_id AS VARCHAR) AS product_id,
    CAST(quantity AS BIGINT) AS quantity,
    CAST(unit_price_minor AS BIGINT) AS unit_price_minor,
    CAST(order_id AS VARCHAR) AS order_id,
    CAST(item_count AS BIGINT) AS item_count,
    CAST(subtotal_minor AS BIGINT) AS subtotal_minor,
    CAST(promo_code AS VARCHAR) AS promo_code,
    CAST(campaign_id AS VARCHAR) AS campaign_id,
    CAST(discount_minor AS BIGINT) AS discount_minor,
    upper(currency) AS currency
FROM events
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ingested_at) = 1
