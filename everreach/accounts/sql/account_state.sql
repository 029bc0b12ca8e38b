-- What the token check needs: a token issued before the last password change is revoked.
SELECT role, password_changed_at
FROM users
WHERE user_id = %(user_id)s
