-- Rising products: the last 7 days up to the newest data against the 7 days before, with the
-- popularity score's weights. growth = (recent + 1) / (prior + 1) damps tiny numbers; a product
-- is rising when recent >= 10 and recent >= 2 x prior.
WITH as_of AS (
    SELECT max(day) AS day FROM marts.product_daily
),
windows AS (
    SELECT
        d.product_id,
        sum(d.views + 3 * d.add_to_carts + 10 * d.units_sold)
            FILTER (WHERE d.day > as_of.day - INTERVAL 7 DAY) AS recent_score,
        sum(d.views + 3 * d.add_to_carts + 10 * d.units_sold)
            FILTER (WHERE d.day <= as_of.day - INTERVAL 7 DAY) AS prior_score
    FROM marts.product_daily AS d, as_of
    WHERE d.day > as_of.day - INTERVAL 14 DAY
    GROUP BY d.product_id
),
scored AS (
    SELECT
        product_id,
        coalesce(recent_score, 0) AS recent_score,
        coalesce(prior_score, 0) AS prior_score
    FROM windows
)
SELECT
    s.product_id,
    p.title,
    p.category,
    s.recent_score,
    s.prior_score,
    round((s.recent_score + 1) / (s.prior_score + 1), 4) AS growth,
    s.recent_score >= 10 AND s.recent_score >= 2 * s.prior_score AS is_rising,
    row_number() OVER (
        ORDER BY (s.recent_score + 1) / (s.prior_score + 1) DESC, s.recent_score DESC, s.product_id
    ) AS trend_rank
FROM scored AS s
LEFT JOIN marts.products AS p USING (product_id)
ORDER BY trend_rank
