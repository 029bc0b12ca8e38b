-- password_changed_at comes from the API's clock, the clock that stamps `iat` on tokens.
UPDATE users
SET password_hash = %(password_hash)s, password_changed_at = %(now)s
WHERE user_id = %(user_id)s
RETURNING email
