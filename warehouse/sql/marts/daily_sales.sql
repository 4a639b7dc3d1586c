-- Sales per order day and currency. Revenue counts paid orders; refunds are charged to the
-- order's day (so a day's net figure settles as refunds arrive). A new customer is one whose
-- first paid order is on that day.
SELECT
    o.order_date,
    o.currency,
    count(*) AS orders_placed,
    count(*) FILTER (WHERE o.is_paid) AS orders_paid,
    count(*) FILTER (WHERE o.status = 'cancelled') AS orders_cancelled,
    coalesce(sum(o.item_count) FILTER (WHERE o.is_paid), 0) AS items_sold,
    coalesce(sum(o.total_minor) FILTER (WHERE o.is_paid), 0) AS gross_revenue_minor,
    coalesce(sum(o.discount_minor) FILTER (WHERE o.is_paid), 0) AS discount_minor,
    coalesce(sum(o.refunded_minor), 0) AS refunded_minor,
    coalesce(sum(o.net_revenue_minor), 0) AS net_revenue_minor,
    CAST(round(sum(o.total_minor) FILTER (WHERE o.is_paid)
        / nullif(count(*) FILTER (WHERE o.is_paid), 0)) AS BIGINT) AS aov_minor,
    count(DISTINCT o.user_id) FILTER (WHERE o.is_paid) AS customers,
    count(DISTINCT o.user_id) FILTER (WHERE o.is_paid AND o.placed_at = c.first_order_at)
        AS new_customers
FROM marts.orders AS o
LEFT JOIN marts.customers AS c USING (user_id)
GROUP BY o.order_date, o.currency
ORDER BY o.order_date, o.currency
