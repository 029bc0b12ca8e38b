-- `everreach create-admin`: a new admin, or an existing account promoted with a new password
-- (which, through password_changed_at, revokes the tokens it had).
INSERT INTO users (user_id, email, password_hash, role, password_changed_at)
VALUES (%(user_id)s, %(email)s, %(password_hash)s, 'admin', %(now)s)
ON CONFLICT ((lower(email))) DO UPDATE
    SET role = 'admin',
        password_hash = EXCLUDED.password_hash,
        password_changed_at = EXCLUDED.password_changed_at
RETURNING user_id::text, email, role, (xmax = 0) AS created
