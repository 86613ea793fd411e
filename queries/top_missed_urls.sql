-- The URLs CloudFront most often had to fetch from the origin, with their
-- hit ratio: cacheable objects here usually have wrong caching headers.
SELECT
    cs_uri_stem AS path,
    count(*) FILTER (WHERE x_edge_result_type IN ('Miss', 'RefreshHit')) AS misses,
    count(*) AS requests,
    round(avg(CASE WHEN x_edge_result_type = 'Hit' THEN 1.0 ELSE 0.0 END), 3) AS hit_ratio
FROM read_parquet(getvariable('dir') || '/cloudfront.parquet')
WHERE cs_method IN ('GET', 'HEAD')
GROUP BY path
ORDER BY misses DESC, path
LIMIT 50;
