-- One row per placed order with its lifecycle. Status precedence: refunded (in full) >
-- partially_refunded > cancelled > delivered > paid > placed, so late or out-of-order events
-- cannot move an order backwards. net_revenue = total - refunds, and only for paid orders.
WITH status AS (
    SELECT
        order_id,
        min(occurred_at) FILTER (WHERE status = 'paid') AS paid_at,
        min(occurred_at) FILTER (WHERE status = 'cancelled') AS cancelled_at,
        min(occurred_at) FILTER (WHERE status = 'refunded') AS refunded_at,
        min(occurred_at) FILTER (WHERE status = 'delivered') AS delivered_at,
        coalesce(sum(amount_minor) FILTER (WHERE status = 'refunded'), 0) AS refunded_minor
    FROM staging.stg_order_status_events
    GROUP BY order_id
),
lines AS (
    SELECT order_id, sum(quantity) AS item_count, count(*) AS line_count
    FROM staging.stg_order_lines
    GROUP BY order_id
),
method AS (
    SELECT order_id, arg_max(method, occurred_at) AS payment_method
    FROM staging.stg_payments
    WHERE status = 'captured'
    GROUP BY order_id
)
SELECT
    o.order_id,
    o.user_id,
    o.session_id,
    o.placed_at,
    CAST(o.placed_at AS DATE) AS order_date,
    o.currency,
    o.subtotal_minor,
    o.discount_minor,
    o.shipping_minor,
    o.total_minor,
    coalesce(l.item_count, 0) AS item_count,
    coalesce(l.line_count, 0) AS line_count,
    o.promo_codes,
    o.campaign_ids,
    len(o.promo_codes) > 0 AS has_promo,
    CASE
        WHEN s.refunded_at IS NOT NULL AND s.refunded_minor >= o.total_minor THEN 'refunded'
        WHEN s.refunded_at IS NOT NULL THEN 'partially_refunded'
        WHEN s.cancelled_at IS NOT NULL THEN 'cancelled'
        WHEN s.delivered_at IS NOT NULL THEN 'delivered'
        WHEN s.paid_at IS NOT NULL THEN 'paid'
        ELSE 'placed'
    END AS status,
    s.paid_at IS NOT NULL AS is_paid,
    s.paid_at,
    s.cancelled_at,
    s.refunded_at,
    s.delivered_at,
    coalesce(s.refunded_minor, 0) AS refunded_minor,
    CASE WHEN s.paid_at IS NOT NULL
        THEN o.total_minor - coalesce(s.refunded_minor, 0) ELSE 0 END AS net_revenue_minor,
    m.payment_method
FROM staging.stg_orders AS o
LEFT JOIN status AS s USING (order_id)
LEFT JOIN lines AS l USING (order_id)
LEFT JOIN method AS m USING (order_id)
ORDER BY o.placed_at, o.order_id
