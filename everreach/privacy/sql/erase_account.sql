-- The person's account and its password-reset tokens (run as the service role: RLS).
WITH resets AS (
    DELETE FROM password_resets WHERE user_id = %(account_id)s
    RETURNING 1
),

account AS (
    DELETE FROM users WHERE user_id = %(account_id)s
    RETURNING 1
)

SELECT (SELECT count(*) FROM resets) AS password_resets, (SELECT count(*) FROM account) AS users
