-- Overall label values for the days (until - days, until], oldest first.
SELECT day, label, kind, dimension, segment, value, numerator, denominator
FROM analytics.label_metrics
WHERE segment = '' AND day <= %(until)s AND day > %(until)s - %(days)s::integer
ORDER BY day, label
