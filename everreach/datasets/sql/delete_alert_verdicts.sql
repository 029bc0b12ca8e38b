DELETE FROM analytics.alert_verdicts WHERE day >= %s AND day < %s
