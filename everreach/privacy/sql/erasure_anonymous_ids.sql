-- The anonymous (device) ids that are the person's alone: linked to them and to no one else.
-- A device two accounts used stays: its pre-auth events cannot be told apart.
SELECT DISTINCT l.anonymous_id
FROM identity_links AS l
WHERE l.user_id = %(user_id)s
  AND NOT EXISTS (
      SELECT 1
      FROM identity_links AS other
      WHERE other.anonymous_id = l.anonymous_id AND other.user_id <> %(user_id)s
  )
ORDER BY l.anonymous_id
