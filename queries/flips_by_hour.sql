-- Findings of a scan per hour, kind and cause (target flips by cause, never
-- delivered cookies, cache hits that should have reached the origin).
SELECT
    date_trunc('hour', CAST("time" AS TIMESTAMP)) AS hour,
    kind,
    coalesce(cause, '') AS cause,
    count(*) AS findings
FROM read_csv(getvariable('report') || '/findings.csv', header = true, all_varchar = true)
GROUP BY hour, kind, cause
ORDER BY hour, findings DESC;
