-- Per path group (first path segment): how many requests, how many were cache
-- hits, and how many presented a stickiness cookie or a session cookie.
-- A dynamic group where few requests carry AWSALB points at a behavior that
-- strips the ALB's Set-Cookie.
SELECT
    CASE
        WHEN cs_uri_stem LIKE '/%/%' THEN '/' || split_part(cs_uri_stem, '/', 2) || '/*'
        ELSE '*'
    END AS path_group,
    count(*) AS requests,
    round(avg(CASE WHEN x_edge_result_type = 'Hit' THEN 1.0 ELSE 0.0 END), 3) AS hit_ratio,
    round(avg(CASE WHEN cookie_awsalb OR cookie_awsalbapp THEN 1.0 ELSE 0.0 END), 3) AS stickiness_cookie_share,
    round(avg(CASE WHEN session_cookie IS NOT NULL THEN 1.0 ELSE 0.0 END), 3) AS session_cookie_share
FROM read_parquet(getvariable('dir') || '/cloudfront.parquet')
GROUP BY path_group
ORDER BY requests DESC;
