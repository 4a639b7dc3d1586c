-- One row per known user (registered or ordered). Orders and revenue count paid orders only;
-- the cohort is the month of the first paid order. Money assumes one reporting currency.
WITH users AS (
    SELECT user_id, min(registered_at) AS registered_at
    FROM staging.stg_user_registrations
    GROUP BY user_id
),
paid AS (
    SELECT
        user_id,
        min(placed_at) AS first_order_at,
        max(placed_at) AS last_order_at,
        count(*) AS orders,
        sum(net_revenue_minor) AS revenue_minor,
        sum(total_minor) AS gross_minor
    FROM marts.orders
    WHERE is_paid
    GROUP BY user_id
),
placed AS (
    SELECT user_id, count(*) AS orders_placed FROM marts.orders GROUP BY user_id
),
ids AS (
    SELECT user_id FROM users UNION SELECT user_id FROM placed
)
SELECT
    ids.user_id,
    u.registered_at,
    p.first_order_at,
    p.last_order_at,
    coalesce(pl.orders_placed, 0) AS orders_placed,
    coalesce(p.orders, 0) AS orders,
    coalesce(p.revenue_minor, 0) AS revenue_minor,
    CASE WHEN p.orders > 0 THEN CAST(round(p.gross_minor / p.orders) AS BIGINT) END
        AS avg_order_value_minor,
    CAST(date_trunc('month', p.first_order_at) AS DATE) AS cohort_month,
    coalesce(p.orders, 0) >= 2 AS is_repeat
FROM ids
LEFT JOIN users AS u USING (user_id)
LEFT JOIN paid AS p USING (user_id)
LEFT JOIN placed AS pl USING (user_id)
ORDER BY ids.user_id
