UPDATE users
SET role = %(role)s
WHERE user_id = %(user_id)s
RETURNING user_id::text, email, role
