-- Why a token could not be claimed (no row: unknown, or already consumed and purged).
SELECT used_at IS NOT NULL AS used, expires_at <= now() AS expired
FROM password_resets
WHERE token_hash = %(token_hash)s
