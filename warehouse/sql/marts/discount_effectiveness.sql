-- Discounts on and off: orders with a promo code against orders without (AOV, discount, items),
-- and sessions where a promo code was applied against the rest (conversion). Two rows.
WITH orders_side AS (
    SELECT
        has_promo,
        count(*) AS orders_placed,
        count(*) FILTER (WHERE is_paid) AS orders_paid,
        coalesce(sum(net_revenue_minor), 0) AS revenue_minor,
        coalesce(sum(discount_minor) FILTER (WHERE is_paid), 0) AS discount_minor,
        CAST(round(sum(total_minor) FILTER (WHERE is_paid)
            / nullif(count(*) FILTER (WHERE is_paid), 0)) AS BIGINT) AS aov_minor,
        round(sum(item_count) FILTER (WHERE is_paid)
            / nullif(count(*) FILTER (WHERE is_paid), 0), 2) AS items_per_order
    FROM marts.orders
    GROUP BY has_promo
),
sessions_side AS (
    SELECT
        promo_applied AS has_promo,
        count(*) AS sessions,
        count(*) FILTER (WHERE orders_paid > 0) AS converted_sessions
    FROM marts.sessions
    GROUP BY promo_applied
),
sides AS (
    SELECT * FROM (VALUES (true), (false)) AS t(has_promo)
)
SELECT
    sides.has_promo,
    coalesce(o.orders_placed, 0) AS orders_placed,
    coalesce(o.orders_paid, 0) AS orders_paid,
    coalesce(o.revenue_minor, 0) AS revenue_minor,
    coalesce(o.discount_minor, 0) AS discount_minor,
    o.aov_minor,
    o.items_per_order,
    coalesce(s.sessions, 0) AS sessions,
    coalesce(s.converted_sessions, 0) AS converted_sessions,
    round(s.converted_sessions / nullif(s.sessions, 0), 4) AS conversion_rate
FROM sides
LEFT JOIN orders_side AS o USING (has_promo)
LEFT JOIN sessions_side AS s USING (has_promo)
ORDER BY sides.has_promo DESC
