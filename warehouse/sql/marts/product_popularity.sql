-- Product popularity over the 30 days up to the newest data (not the wall clock, so rebuilding
-- the same lake gives the same ranking). score = views + 3 x add-to-carts + 10 x units sold,
-- the same interaction weights the recommenders use.
WITH as_of AS (
    SELECT max(day) AS day FROM marts.product_daily
),
window_totals AS (
    SELECT
        d.product_id,
        sum(d.views) AS views_30d,
        sum(d.add_to_carts) AS add_to_carts_30d,
        sum(d.units_sold) AS units_sold_30d,
        sum(d.revenue_minor) AS revenue_30d_minor
    FROM marts.product_daily AS d, as_of
    WHERE d.day > as_of.day - INTERVAL 30 DAY
    GROUP BY d.product_id
),
all_time AS (
    SELECT
        product_id,
        sum(views) AS views,
        sum(units_sold) AS units_sold,
        sum(revenue_minor) AS revenue_minor
    FROM marts.product_daily
    GROUP BY product_id
),
scored AS (
    SELECT
        p.product_id,
        p.title,
        p.category,
        coalesce(w.views_30d, 0) AS views_30d,
        coalesce(w.add_to_carts_30d, 0) AS add_to_carts_30d,
        coalesce(w.units_sold_30d, 0) AS units_sold_30d,
        coalesce(w.revenue_30d_minor, 0) AS revenue_30d_minor,
        coalesce(a.views, 0) AS views_all_time,
        coalesce(a.units_sold, 0) AS units_sold_all_time,
        coalesce(a.revenue_minor, 0) AS revenue_all_time_minor,
        coalesce(w.views_30d, 0) + 3 * coalesce(w.add_to_carts_30d, 0)
            + 10 * coalesce(w.units_sold_30d, 0) AS popularity_score
    FROM marts.products AS p
    LEFT JOIN window_totals AS w USING (product_id)
    LEFT JOIN all_time AS a USING (product_id)
    WHERE NOT p.is_deleted
)
SELECT
    *,
    row_number() OVER (ORDER BY popularity_score DESC, product_id) AS popularity_rank,
    row_number() OVER (
        PARTITION BY category ORDER BY popularity_score DESC, product_id
    ) AS category_rank
FROM scored
ORDER BY popularity_rank
