-- Payment outcomes (captured, failed, refunded) with their method, one row per event id.
WITH payments AS (
    SELECT *, 'captured' AS status, NULL AS reason FROM raw.payment_captured WHERE {{partitions}}
    UNION ALL BY NAME
    SELECT *, 'failed' AS status FROM raw.payment_failed WHERE {{partitions}}
    UNION ALL BY NAME
    SELECT *, 'refunded' AS status, NULL AS reason FROM raw.payment_refunded WHERE {{partitions}}
)
SELECT
    event_id,
    "date" AS event_date,
    occurred_at AT TIME ZONE 'UTC' AS occurred_at,
    ingested_at AT TIME ZONE 'UTC' AS ingested_at,
    payment_id,
    order_id,
    user_id,
    status,
    method,
    amount_minor,
    upper(currency) AS currency,
    CAST(reason AS VARCHAR) AS reason
FROM payments
QUALIFY row_number() OVER (PARTITION BY event_id ORDER BY ingested_at) = 1
