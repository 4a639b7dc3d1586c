-- Search result pages, one row per event id. `query_normalized` (lower case, single spaces)
-- is what search analytics group by, so "Red  Shoes" and "red shoes" count as one query.
SELECT
    event_id,
    "date" AS event_date,
    occurred_at AT TIME ZONE 'UTC' AS occurred_at,
    ingested_at AT TIME ZONE 'UTC' AS ingested_at,
    session_id,
    anonymous_id,
    user_id,
    query,
    lower(trim(regexp_replace(query, '\s+', ' ', 'g'))) AS query_normalized,
    result_count,
    clicked_position,
    clicked_product_id
FROM raw.search
WHERE {{partitions}}
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ingested_at) = 1
