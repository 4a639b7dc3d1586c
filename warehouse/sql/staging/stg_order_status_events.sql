-- Everything that happens to an order after it was placed, as one typed stream of status
-- changes (paid, cancelled, refunded, delivered), one row per event id.
WITH changes AS (
    SELECT event_id, "date", occurred_at, ingested_at, order_id, user_id,
           'paid' AS status, amount_minor, currency, payment_id, NULL AS reason
    FROM raw.order_paid WHERE {{partitions}}
    UNION ALL BY NAME
    SELECT event_id, "date", occurred_at, ingested_at, order_id, user_id,
           'cancelled' AS status, reason
    FROM raw.order_cancelled WHERE {{partitions}}
    UNION ALL BY NAME
    SELECT event_id, "date", occurred_at, ingested_at, order_id, user_id,
           'refunded' AS status, amount_minor, currency, reason
    FROM raw.order_refunded WHERE {{partitions}}
    UNION ALL BY NAME
    SELECT event_id, "date", occurred_at, ingested_at, order_id, user_id,
           'delivered' AS status
    FROM raw.order_delivered WHERE {{partitions}}
)
SELECT
    event_id,
    "date" AS event_date,
    occurred_at AT TIME ZONE 'UTC' AS occurred_at,
    ingested_at AT TIME ZONE 'UTC' AS ingested_at,
    order_id,
    user_id,
    status,
    CAST(amount_minor AS BIGINT) AS amount_minor,
    upper(currency) AS currency,
    CAST(payment_id AS VARCHAR) AS payment_id,
    CAST(reason AS VARCHAR) AS reason
FROM changes
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ingested_at) = 1
