-- Registered users (no e-mail: the warehouse keeps no contact data), one row per event id.
SELECT
    event_id,
    "date" AS event_date,
    occurred_at AT TIME ZONE 'UTC' AS registered_at,
    ingested_at AT TIME ZONE 'UTC' AS ingested_at,
    user_id,
    locale,
    marketing_opt_in
FROM raw.user_registered
WHERE {{partitions}}
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ingested_at) = 1
