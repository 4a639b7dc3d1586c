-- One row per order line: line_total = quantity x unit price - the line's discount.
SELECT
    l.order_id,
    l.line_no,
    l.user_id,
    o.order_date,
    l.product_id,
    l.sku,
    l.category,
    l.quantity,
    l.unit_price_minor,
    l.discount_minor,
    l.quantity * l.unit_price_minor - l.discount_minor AS line_total_minor,
    l.currency,
    o.status,
    o.is_paid
FROM staging.stg_order_lines AS l
JOIN marts.orders AS o USING (order_id)
ORDER BY o.order_date, l.order_id, l.line_no
