-- Dislikes among the thumbs (likes + dislikes) given to one day's responses.
SELECT sum(disliked_count)::double precision AS dislikes,
       sum(liked_count + disliked_count)::double precision AS thumbs
FROM analytics.ml_response_samples
WHERE created_at >= %s AND created_at < %s
