-- Activity of each product per day: views, add-to-carts, and units and revenue of paid orders
-- (by order day). The base of popularity and trends.
WITH views AS (
    SELECT product_id, event_date AS day, count(*) AS views
    FROM staging.stg_product_views GROUP BY ALL
),
carts AS (
    SELECT product_id, event_date AS day, count(*) AS add_to_carts
    FROM staging.stg_add_to_cart GROUP BY ALL
),
sales AS (
    SELECT
        product_id,
        order_date AS day,
        sum(quantity) AS units_sold,
        count(DISTINCT order_id) AS orders,
        sum(line_total_minor) AS revenue_minor
    FROM marts.order_items
    WHERE is_paid
    GROUP BY ALL
)
SELECT
    product_id,
    day,
    coalesce(v.views, 0) AS views,
    coalesce(c.add_to_carts, 0) AS add_to_carts,
    coalesce(s.units_sold, 0) AS units_sold,
    coalesce(s.orders, 0) AS orders,
    coalesce(s.revenue_minor, 0) AS revenue_minor
FROM views AS v
FULL JOIN carts AS c USING (product_id, day)
FULL JOIN sales AS s USING (product_id, day)
ORDER BY day, product_id
