INSERT INTO analytics.alert_verdicts (day, alert, status, value, threshold)
VALUES (%s, %s, %s, %s, %s)
