-- One row per storefront session. Identity stitching: a session without a login takes the
-- user last seen logged in on the same device (anonymous_id), so pre-login browsing counts for
-- the customer. Checkouts and revenue come from orders that carry the session id.
WITH events AS (
    SELECT session_id, anonymous_id, user_id, occurred_at, 'page_view' AS kind, campaign_id
    FROM staging.stg_page_views
    UNION ALL
    SELECT session_id, anonymous_id, user_id, occurred_at, 'product_view', NULL
    FROM staging.stg_product_views
    UNION ALL
    SELECT session_id, anonymous_id, user_id, occurred_at, 'search', NULL
    FROM staging.stg_searches
    UNION ALL
    SELECT session_id, anonymous_id, user_id, occurred_at, 'add_to_cart', NULL
    FROM staging.stg_add_to_cart
),
per_session AS (
    SELECT
        session_id,
        min(anonymous_id) AS anonymous_id,
        arg_max(user_id, occurred_at) FILTER (WHERE user_id IS NOT NULL) AS user_id,
        min(occurred_at) AS started_at,
        max(occurred_at) AS ended_at,
        count(*) FILTER (WHERE kind = 'page_view') AS page_views,
        count(*) FILTER (WHERE kind = 'product_view') AS product_views,
        count(*) FILTER (WHERE kind = 'search') AS searches,
        count(*) FILTER (WHERE kind = 'add_to_cart') AS add_to_carts,
        arg_min(campaign_id, occurred_at) FILTER (WHERE campaign_id IS NOT NULL) AS campaign_id
    FROM events
    GROUP BY session_id
),
device_user AS (
    SELECT anonymous_id, arg_max(user_id, occurred_at) AS user_id
    FROM events
    WHERE user_id IS NOT NULL
    GROUP BY anonymous_id
),
session_orders AS (
    SELECT
        session_id,
        count(*) AS orders_placed,
        count(*) FILTER (WHERE is_paid) AS orders_paid,
        sum(net_revenue_minor) AS revenue_minor
    FROM marts.orders
    WHERE session_id IS NOT NULL
    GROUP BY session_id
),
promo_sessions AS (
    SELECT DISTINCT session_id
    FROM staging.stg_cart_events
    WHERE kind = 'promo_code_applied' AND session_id IS NOT NULL
)
SELECT
    s.session_id,
    s.anonymous_id,
    coalesce(s.user_id, d.user_id) AS user_id,
    s.user_id IS NULL AND d.user_id IS NOT NULL AS is_stitched,
    s.started_at,
    CAST(s.started_at AS DATE) AS session_date,
    s.ended_at,
    CAST(epoch(s.ended_at) - epoch(s.started_at) AS BIGINT) AS duration_seconds,
    s.page_views,
    s.product_views,
    s.searches,
    s.add_to_carts,
    coalesce(o.orders_placed, 0) AS orders_placed,
    coalesce(o.orders_paid, 0) AS orders_paid,
    coalesce(o.revenue_minor, 0) AS revenue_minor,
    s.campaign_id,
    p.session_id IS NOT NULL AS promo_applied
FROM per_session AS s
LEFT JOIN device_user AS d USING (anonymous_id)
LEFT JOIN session_orders AS o USING (session_id)
LEFT JOIN promo_sessions AS p USING (session_id)
ORDER BY s.started_at, s.session_id
