-- Every label value (overall and per segment) of the given days.
SELECT day, label, kind, dimension, segment, value, numerator, denominator
FROM analytics.label_metrics
WHERE day = ANY(%(days)s)
ORDER BY day, label, segment
