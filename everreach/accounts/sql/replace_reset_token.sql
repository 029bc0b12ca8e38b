-- A new reset token for a user; earlier unused ones stop working at the same moment.
WITH invalidated AS (
    UPDATE password_resets
    SET used_at = now()
    WHERE user_id = %(user_id)s AND used_at IS NULL
)
INSERT INTO password_resets (token_hash, user_id, expires_at)
VALUES (%(token_hash)s, %(user_id)s, now() + make_interval(secs => %(ttl_s)s))
