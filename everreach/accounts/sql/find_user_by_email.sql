SELECT user_id::text, email, role, password_hash
FROM users
WHERE lower(email) = lower(%(email)s)
