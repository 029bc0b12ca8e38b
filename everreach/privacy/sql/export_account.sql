-- The person's account as they may see it (never the password hash), as one JSON object.
SELECT json_build_object(
    'table', 'users',
    'row', json_build_object(
        'user_id', u.user_id, 'email', u.email, 'role', u.role, 'created_at', u.created_at,
        'password_changed_at', u.password_changed_at
    )
)::text
FROM users AS u
WHERE u.user_id = %(account_id)s
