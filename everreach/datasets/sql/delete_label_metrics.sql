DELETE FROM analytics.label_metrics WHERE day >= %s AND day < %s
