-- Serialises reset requests of one account, so only the newest token stays valid.
SELECT user_id::text, email
FROM users
WHERE lower(email) = lower(%(email)s)
FOR UPDATE
