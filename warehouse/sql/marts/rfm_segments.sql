-- RFM segments of customers with a paid order, as of the day after the newest order (not the
-- wall clock, so a rebuild gives the same segments). Each score is 1..5 from the percent rank
-- (ties share a score; 5 = most recent / most frequent / highest spend).
WITH as_of AS (
    SELECT max(order_date) + 1 AS day FROM marts.orders
),
base AS (
    SELECT
        c.user_id,
        datediff('day', CAST(c.last_order_at AS DATE), as_of.day) AS recency_days,
        c.orders AS frequency,
        c.revenue_minor AS monetary_minor
    FROM marts.customers AS c, as_of
    WHERE c.orders > 0
),
scored AS (
    SELECT
        *,
        CAST(least(5, 1 + floor(5 * percent_rank() OVER (ORDER BY recency_days DESC))) AS INT)
            AS r_score,
        CAST(least(5, 1 + floor(5 * percent_rank() OVER (ORDER BY frequency))) AS INT)
            AS f_score,
        CAST(least(5, 1 + floor(5 * percent_rank() OVER (ORDER BY monetary_minor))) AS INT)
            AS m_score
    FROM base
)
SELECT
    user_id,
    recency_days,
    frequency,
    monetary_minor,
    r_score,
    f_score,
    m_score,
    r_score * 100 + f_score * 10 + m_score AS rfm_cell,
    CASE
        WHEN r_score >= 4 AND f_score >= 4 THEN 'champions'
        WHEN r_score >= 3 AND f_score >= 3 THEN 'loyal'
        WHEN r_score >= 4 THEN 'new'
        WHEN r_score <= 2 AND f_score >= 3 THEN 'at_risk'
        WHEN r_score <= 2 THEN 'hibernating'
        ELSE 'needs_attention'
    END AS segment
FROM scored
ORDER BY user_id
