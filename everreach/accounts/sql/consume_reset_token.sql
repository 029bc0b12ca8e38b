-- Claims a token atomically: of two concurrent submits, the second waits for the first's row
-- lock, then finds used_at set (or the row gone) and claims nothing.
UPDATE password_resets
SET used_at = now()
WHERE token_hash = %(token_hash)s AND used_at IS NULL AND expires_at > now()
RETURNING user_id
