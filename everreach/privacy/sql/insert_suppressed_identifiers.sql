-- Refuse these identifiers from now on (keyed hashes; an identifier already suppressed stays).
INSERT INTO suppressed_identifiers (identifier_hash, kind, receipt_id)
SELECT s.identifier_hash, s.kind, %(receipt_id)s
FROM unnest(%(hashes)s::bytea[], %(kinds)s::text[]) AS s(identifier_hash, kind)
ON CONFLICT (identifier_hash) DO NOTHING
