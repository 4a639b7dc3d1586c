-- Search analytics per normalised query: volume, zero-result share and click-through.
-- A query is a zero-result query when none of its searches found anything.
SELECT
    query_normalized AS query,
    count(*) AS searches,
    count(DISTINCT session_id) AS sessions,
    count(*) FILTER (WHERE result_count = 0) AS zero_result_searches,
    round(count(*) FILTER (WHERE result_count = 0) / count(*), 4) AS zero_result_rate,
    count(*) FILTER (WHERE result_count = 0) = count(*) AS is_zero_result_query,
    count(clicked_position) AS clicks,
    round(count(clicked_position) / count(*), 4) AS click_through_rate,
    round(avg(clicked_position), 2) AS avg_clicked_position,
    round(avg(result_count), 2) AS avg_result_count,
    min(occurred_at) AS first_searched_at,
    max(occurred_at) AS last_searched_at,
    row_number() OVER (ORDER BY count(*) DESC, query_normalized) AS search_rank
FROM staging.stg_searches
GROUP BY query_normalized
ORDER BY search_rank
