-- Per ALB target and minute: requests, the share answered 5xx by the target
-- or with no target status, and requests the ALB could not send to a target.
-- A failing target shows as a run of 5xx followed by minutes with no rows.
SELECT
    date_trunc('minute', "time") AS minute,
    coalesce(target_ip || ':' || CAST(target_port AS VARCHAR), '-') AS target,
    count(*) AS requests,
    round(avg(CASE WHEN target_status_code IS NULL OR target_status_code >= 500 THEN 1.0 ELSE 0.0 END), 3) AS failed_share
FROM read_parquet(getvariable('dir') || '/alb.parquet')
GROUP BY minute, target
ORDER BY minute, target;
