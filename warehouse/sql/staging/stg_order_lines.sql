-- Order lines unnested from `order.placed` (stored as JSON in the lake), numbered from 1.
WITH placed AS (
    SELECT
        event_id,
        "date" AS event_date,
        occurred_at AT TIME ZONE 'UTC' AS placed_at,
        order_id,
        user_id,
        upper(currency) AS currency,
        from_json(
            lines,
            '[{"sku": "VARCHAR", "product_id": "VARCHAR", "category": "VARCHAR",
               "quantity": "BIGINT", "unit_price_minor": "BIGINT", "discount_minor": "BIGINT"}]'
        ) AS parsed
    FROM raw.order_placed
    WHERE {{partitions}}
    QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ingested_at) = 1
),
lines AS (
    SELECT
        event_id, event_date, placed_at, order_id, user_id, currency,
        unnest(parsed) AS line,
        unnest(range(1, len(parsed) + 1)) AS line_no
    FROM placed
)
SELECT
    event_id,
    event_date,
    placed_at,
    order_id,
    line_no,
    user_id,
    line.product_id AS product_id,
    line.sku AS sku,
    line.category AS category,
    line.quantity AS quantity,
    line.unit_price_minor AS unit_price_minor,
    coalesce(line.discount_minor, 0) AS discount_minor,
    currency
FROM lines
