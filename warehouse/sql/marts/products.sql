-- Latest state of every product the catalog announced (type 1: history is in staging).
-- A deleted product stays, flagged, with its last known state, so old orders still join.
WITH states AS (
    SELECT *
    FROM staging.stg_catalog_events
    WHERE change <> 'deleted'
    QUALIFY row_number() OVER (PARTITION BY product_id ORDER BY occurred_at DESC, event_id) = 1
),
lifecycle AS (
    SELECT
        product_id,
        min(occurred_at) AS created_at,
        max(occurred_at) AS updated_at,
        max(occurred_at) FILTER (WHERE change = 'deleted') AS deleted_at,
        max(occurred_at) FILTER (WHERE change <> 'deleted') AS last_state_at
    FROM staging.stg_catalog_events
    GROUP BY product_id
)
SELECT
    s.product_id,
    s.sku,
    s.title,
    s.brand,
    s.category_path[1] AS category,
    array_to_string(s.category_path, ' > ') AS category_path,
    s.price_minor,
    s.currency,
    l.created_at,
    l.updated_at,
    coalesce(l.deleted_at > l.last_state_at, false) AS is_deleted
FROM states AS s
JOIN lifecycle AS l USING (product_id)
ORDER BY s.product_id
