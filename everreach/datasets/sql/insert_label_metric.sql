INSERT INTO analytics.label_metrics
    (day, label, kind, dimension, segment, value, numerator, denominator)
VALUES (%s, %s, %s, %s, %s, %s, %s, %s)
