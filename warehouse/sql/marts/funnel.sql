-- Daily session funnel view -> cart -> checkout -> paid. Strict: a session counts at a step
-- only if it also reached every earlier step, so each step is <= the one before it.
WITH steps AS (
    SELECT
        session_date,
        product_views > 0 AS viewed,
        product_views > 0 AND add_to_carts > 0 AS carted,
        product_views > 0 AND add_to_carts > 0 AND orders_placed > 0 AS checked_out,
        product_views > 0 AND add_to_carts > 0 AND orders_placed > 0 AND orders_paid > 0 AS paid
    FROM marts.sessions
)
SELECT
    session_date,
    count(*) AS sessions,
    count(*) FILTER (WHERE viewed) AS viewed_product,
    count(*) FILTER (WHERE carted) AS added_to_cart,
    count(*) FILTER (WHERE checked_out) AS checked_out,
    count(*) FILTER (WHERE paid) AS paid,
    round(count(*) FILTER (WHERE carted) / nullif(count(*) FILTER (WHERE viewed), 0), 4)
        AS view_to_cart_rate,
    round(count(*) FILTER (WHERE checked_out) / nullif(count(*) FILTER (WHERE carted), 0), 4)
        AS cart_to_checkout_rate,
    round(count(*) FILTER (WHERE paid) / nullif(count(*) FILTER (WHERE checked_out), 0), 4)
        AS checkout_to_paid_rate,
    round(count(*) FILTER (WHERE paid) / count(*), 4) AS conversion_rate
FROM steps
GROUP BY session_date
ORDER BY session_date
