-- The admins, locked until the transaction ends: a role change checks and acts on this set
-- while no concurrent change can alter it (the last admin is never demoted).
SELECT user_id
FROM users
WHERE role = 'admin'
ORDER BY user_id
FOR UPDATE
