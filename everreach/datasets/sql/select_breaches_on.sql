-- The alerts that breached on each of the given days, by day then alert.
SELECT day, alert, status, value, threshold
FROM analytics.alert_verdicts
WHERE day = ANY(%(days)s) AND status = 'breached'
ORDER BY day, alert
