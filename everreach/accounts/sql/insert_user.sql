-- A new account; nothing when the email (case-insensitively) is taken.
INSERT INTO users (user_id, email, password_hash, role, password_changed_at)
VALUES (%(user_id)s, %(email)s, %(password_hash)s, %(role)s, %(now)s)
ON CONFLICT ((lower(email))) DO NOTHING
RETURNING user_id::text, email, role
