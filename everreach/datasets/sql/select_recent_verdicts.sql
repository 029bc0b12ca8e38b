-- The verdicts of the %(days)s days up to the latest judged day, oldest first.
SELECT day, alert, status, value, threshold
FROM analytics.alert_verdicts
WHERE day > (SELECT max(day) FROM analytics.alert_verdicts) - %(days)s::integer
ORDER BY day, alert
