-- Catalog changes; created/updated carry the full product state, deleted only the ids.
-- One row per event id.
WITH events AS (
    SELECT *, 'created' AS change FROM raw.catalog_product_created WHERE {{partitions}}
    UNION ALL BY NAME
    SELECT *, 'updated' AS change FROM raw.catalog_product_updated WHERE {{partitions}}
    UNION ALL BY NAME
    SELECT *, 'deleted' AS change FROM raw.catalog_product_deleted WHERE {{partitions}}
)
SELECT
    event_id,
    "date" AS event_date,
    occurred_at AT TIME ZONE 'UTC' AS occurred_at,
    ingested_at AT TIME ZONE 'UTC' AS ingested_at,
    change,
    product_id,
    sku,
    CAST(title AS VARCHAR) AS title,
    CAST(brand AS VARCHAR) AS brand,
    CAST(category_path AS VARCHAR[]) AS category_path,
    CAST(price_minor AS BIGINT) AS price_minor,
    upper(currency) AS currency
FROM events
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ingested_at) = 1
