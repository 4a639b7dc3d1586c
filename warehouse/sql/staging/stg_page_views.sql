-- Page views, one row per event id; campaign_id is the landing campaign (utm_campaign).
SELECT
    event_id,
    "date" AS event_date,
    occurred_at AT TIME ZONE 'UTC' AS occurred_at,
    ingested_at AT TIME ZONE 'UTC' AS ingested_at,
    session_id,
    anonymous_id,
    user_id,
    path,
    referrer,
    campaign_id
FROM raw.page_view
WHERE {{partitions}}
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ingested_at) = 1
