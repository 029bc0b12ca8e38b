DELETE FROM analytics.label_metrics WHERE day = %s
