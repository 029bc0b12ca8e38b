-- Rows of a materialized model per UTC day of its partition column, within a window: the source
-- side of the dataset's row-count check. {table} and {column} are composed as identifiers.
SELECT ({column} AT TIME ZONE 'UTC')::date AS day, count(*)
FROM {table}
WHERE {column} >= %s AND {column} < %s
GROUP BY 1
