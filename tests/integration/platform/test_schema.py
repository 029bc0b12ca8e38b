"""The migrated schema, checked in the catalogue."""

from __future__ import annotations

from typing import Any

import psycopg

# Every index of a table with its key columns (expressions as their text), in order.
INDEX_KEYS = """
SELECT t.relname, i.relname, x.indisunique, x.indpred IS NOT NULL,
       array(SELECT pg_get_indexdef(x.indexrelid, k + 1, true)
             FROM generate_subscripts(x.indkey, 1) AS k ORDER BY k)
FROM pg_index AS x
JOIN pg_class AS i ON i.oid = x.indexrelid
JOIN pg_class AS t ON t.oid = x.indrelid
JOIN pg_namespace AS n ON n.oid = t.relnamespace
WHERE n.nspname = 'public'
"""


def test_no_index_is_a_prefix_of_another_on_the_same_table(db: psycopg.Connection[Any]) -> None:
    """Every insert writes every index: one whose columns lead another (and is neither unique
    nor partial) costs each write and serves no lookup the longer one cannot."""
    indexes = db.execute(INDEX_KEYS).fetchall()
    redundant = [
        (name, longer)
        for table, name, unique, partial, keys in indexes
        if not unique and not partial
        for other_table, longer, _, other_partial, other_keys in indexes
        if other_table == table
        and longer != name
        and not other_partial
        and len(other_keys) > len(keys)
        and other_keys[: len(keys)] == keys
    ]
    assert redundant == []
    assert any(name == "app_events_name_occurred_idx" for _, name, *_ in indexes)
