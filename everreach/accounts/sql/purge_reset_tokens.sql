DELETE FROM password_resets
WHERE used_at IS NOT NULL OR expires_at <= now()
