-- Which of these identifier hashes are suppressed (an erasure named them).
SELECT identifier_hash
FROM suppressed_identifiers
WHERE identifier_hash = ANY(%(hashes)s::bytea[])
