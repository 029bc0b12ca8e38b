-- Per UTC day of a window: dislikes among the thumbs (likes + dislikes) given to the day's
-- responses (days without thumbs are left out).
SELECT (created_at AT TIME ZONE 'UTC')::date AS day,
       sum(disliked_count)::double precision / nullif(sum(liked_count + disliked_count), 0)
FROM analytics.ml_response_samples
WHERE created_at >= %s AND created_at < %s
GROUP BY 1
