-- Breached verdicts with no notification on %(channel)s yet, oldest day first.
SELECT v.day, v.alert, v.status, v.value, v.threshold
FROM analytics.alert_verdicts AS v
WHERE v.status = 'breached'
    AND NOT EXISTS (
        SELECT 1 FROM analytics.alert_notifications AS n
        WHERE n.channel = %(channel)s
            AND n.subject = 'alert:' || v.alert || ':' || to_char(v.day, 'YYYY-MM-DD')
    )
ORDER BY v.day, v.alert
