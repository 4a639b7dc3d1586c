-- Effectiveness of each campaign: promo-code redemptions, orders and revenue attributed to it
-- (orders carrying its id), AOV, and conversion of the sessions that landed from it, each
-- against the baseline without any campaign (uplift = campaign / baseline - 1).
WITH campaign_orders AS (
    SELECT unnest(campaign_ids) AS campaign_id, order_id, is_paid, total_minor,
           discount_minor, net_revenue_minor
    FROM marts.orders
),
orders_by_campaign AS (
    SELECT
        campaign_id,
        count(*) AS orders_placed,
        count(*) FILTER (WHERE is_paid) AS orders_paid,
        coalesce(sum(net_revenue_minor), 0) AS revenue_minor,
        coalesce(sum(discount_minor) FILTER (WHERE is_paid), 0) AS discount_minor,
        CAST(round(sum(total_minor) FILTER (WHERE is_paid)
            / nullif(count(*) FILTER (WHERE is_paid), 0)) AS BIGINT) AS aov_minor
    FROM campaign_orders
    GROUP BY campaign_id
),
cart_by_campaign AS (
    SELECT
        campaign_id,
        count(*) FILTER (WHERE kind = 'promo_code_applied') AS redemptions,
        count(*) FILTER (WHERE kind = 'abandoned') AS abandoned_carts
    FROM staging.stg_cart_events
    WHERE campaign_id IS NOT NULL
    GROUP BY campaign_id
),
sessions_by_campaign AS (
    SELECT
        campaign_id,
        count(*) AS sessions,
        count(*) FILTER (WHERE orders_paid > 0) AS converted_sessions
    FROM marts.sessions
    WHERE campaign_id IS NOT NULL
    GROUP BY campaign_id
),
baseline AS (
    SELECT
        (SELECT sum(total_minor) FILTER (WHERE is_paid)
                / nullif(count(*) FILTER (WHERE is_paid), 0)
         FROM marts.orders WHERE len(campaign_ids) = 0) AS aov,
        (SELECT count(*) FILTER (WHERE orders_paid > 0) / nullif(count(*), 0)
         FROM marts.sessions WHERE campaign_id IS NULL) AS conversion
),
campaigns AS (
    SELECT campaign_id FROM orders_by_campaign
    UNION SELECT campaign_id FROM cart_by_campaign
    UNION SELECT campaign_id FROM sessions_by_campaign
)
SELECT
    c.campaign_id,
    coalesce(k.redemptions, 0) AS redemptions,
    coalesce(k.abandoned_carts, 0) AS abandoned_carts,
    coalesce(o.orders_placed, 0) AS orders_placed,
    coalesce(o.orders_paid, 0) AS orders_paid,
    coalesce(o.revenue_minor, 0) AS revenue_minor,
    coalesce(o.discount_minor, 0) AS discount_minor,
    o.aov_minor,
    coalesce(s.sessions, 0) AS sessions,
    coalesce(s.converted_sessions, 0) AS converted_sessions,
    round(s.converted_sessions / nullif(s.sessions, 0), 4) AS conversion_rate,
    CAST(round(b.aov) AS BIGINT) AS baseline_aov_minor,
    round(b.conversion, 4) AS baseline_conversion_rate,
    round(o.aov_minor / nullif(b.aov, 0) - 1, 4) AS aov_uplift,
    round((s.converted_sessions / nullif(s.sessions, 0)) / nullif(b.conversion, 0) - 1, 4)
        AS conversion_uplift
FROM campaigns AS c
CROSS JOIN baseline AS b
LEFT JOIN orders_by_campaign AS o USING (campaign_id)
LEFT JOIN cart_by_campaign AS k USING (campaign_id)
LEFT JOIN sessions_by_campaign AS s USING (campaign_id)
ORDER BY revenue_minor DESC, c.campaign_id
