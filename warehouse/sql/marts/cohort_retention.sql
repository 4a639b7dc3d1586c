-- Monthly cohorts by first paid order: how many of a cohort's customers order again
-- n months later, and what they spend.
WITH activity AS (
    SELECT
        c.cohort_month,
        o.user_id,
        datediff('month', c.cohort_month, CAST(date_trunc('month', o.placed_at) AS DATE))
            AS months_since_first,
        o.net_revenue_minor
    FROM marts.orders AS o
    JOIN marts.customers AS c USING (user_id)
    WHERE o.is_paid
),
sizes AS (
    SELECT cohort_month, count(*) AS cohort_size
    FROM marts.customers
    WHERE cohort_month IS NOT NULL
    GROUP BY cohort_month
)
SELECT
    a.cohort_month,
    a.months_since_first,
    s.cohort_size,
    count(DISTINCT a.user_id) AS active_customers,
    round(count(DISTINCT a.user_id) / s.cohort_size, 4) AS retention_rate,
    sum(a.net_revenue_minor) AS revenue_minor
FROM activity AS a
JOIN sizes AS s USING (cohort_month)
GROUP BY a.cohort_month, a.months_since_first, s.cohort_size
ORDER BY a.cohort_month, a.months_since_first
