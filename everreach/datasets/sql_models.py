"""SQL models: the SELECTs in `dbt_like_sql/`, their dependencies, and how they materialize.

Each `<name>.sql` holds one SELECT. A header of `-- key: value` comment lines says how to
materialize it (`materialized: view | table | partitioned`; `partition_column:` for partitioned
models; `group:` and `description:` for the Dagster UI). Inside the SELECT, `{{ ref('other') }}`
names a dependency and `{{ partition_start }}` / `{{ partition_end }}` bound a partitioned model's
window (half-open, UTC). Adding a file adds a model: the Dagster edge turns each into an asset.

Models materialize in one schema (`analytics`). A partitioned table deletes its window and
inserts it again in one transaction, so re-runs and backfills are idempotent. The same models can
also be rendered as one self-contained SELECT (`inline_select`, dependencies as CTEs) for readers
that must not depend on what has been materialized, such as the export API.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path

import psycopg
from psycopg import sql

from everreach.platform.day_locks import lock_days
from everreach.platform.days import Window, window_days

MODELS_DIR = Path(__file__).resolve().parents[2] / "dbt_like_sql"
SCHEMA = "analytics"
MODEL_DDL_LOCK_KEY = 7_220_031_002  # arbitrary, fixed: "everreach model DDL" (migrations: ..001)
MATERIALIZATIONS = ("view", "table", "partitioned")

_HEADER = re.compile(r"^--\s*([a-z_]+):\s*(.*)$")
_CONTINUATION = re.compile(r"^--\s{2,}(.*)$")
_REF = re.compile(r"\{\{\s*ref\(\s*'([a-z_][a-z0-9_]*)'\s*\)\s*\}\}")
_BOUND = re.compile(r"\{\{\s*(partition_start|partition_end)\s*\}\}")
_ANY_TEMPLATE = re.compile(r"\{\{.*?\}\}")


class ModelError(ValueError):
    """A model file is malformed: bad header, unknown ref, cycle, missing bounds."""


@dataclass(frozen=True)
class SqlModel:
    """One model file, parsed."""

    name: str
    body: str
    materialized: str
    group: str
    description: str
    partition_column: str | None
    refs: tuple[str, ...]
    unique_key: str | None = None

    @property
    def partitioned(self) -> bool:
        return self.materialized == "partitioned"

    @property
    def code_version(self) -> str:
        """Changes when the SQL changes, so Dagster can tell a stale materialization."""
        return hashlib.sha256(self.body.encode()).hexdigest()[:12]

    def render(self, ref: Callable[[str], str], window: Window | None = None) -> str:
        """The SELECT with refs resolved by `ref` and the window bounds as timestamptz literals."""
        if self.partitioned and window is None:
            raise ModelError(f"model {self.name!r} is partitioned: a window is needed")
        text = _REF.sub(lambda m: ref(m.group(1)), self.body)
        if window is not None:
            bounds = {"partition_start": window[0], "partition_end": window[1]}
            # isoformat of an aware datetime has no quote: a safe literal.
            text = _BOUND.sub(lambda m: f"'{bounds[m.group(1)].isoformat()}'::timestamptz", text)
        return text


def parse_model(path: Path) -> SqlModel:
    """Read one model file; header keys are checked, the SELECT is kept as written."""
    name = path.stem
    lines = path.read_text(encoding="utf-8").splitlines()
    header: dict[str, str] = {}
    last_key = None
    body_start = 0
    for i, line in enumerate(lines):
        if (cont := _CONTINUATION.match(line)) and last_key:
            header[last_key] += " " + cont.group(1).strip()
        elif match := _HEADER.match(line):
            last_key = match.group(1)
            header[last_key] = match.group(2).strip()
        else:
            body_start = i
            break
    body = "\n".join(lines[body_start:]).strip().rstrip(";")
    materialized = header.get("materialized", "view")
    if materialized not in MATERIALIZATIONS:
        raise ModelError(f"{path}: materialized must be one of {MATERIALIZATIONS}")
    partitioned = materialized == "partitioned"
    column = header.get("partition_column")
    has_bounds = {m.group(1) for m in _BOUND.finditer(body)} == {"partition_start", "partition_end"}
    if partitioned and not (column and has_bounds):
        raise ModelError(
            f"{path}: a partitioned model needs `-- partition_column:` and both "
            "{{ partition_start }} and {{ partition_end }}"
        )
    if not partitioned and _BOUND.search(body):
        raise ModelError(f"{path}: window bounds are only allowed in partitioned models")
    unique_key = header.get("unique_key")
    if unique_key and materialized != "table":
        raise ModelError(f"{path}: unique_key is only for `materialized: table` models")
    leftover = _ANY_TEMPLATE.search(_BOUND.sub("", _REF.sub("", body)))
    if leftover:
        raise ModelError(f"{path}: unknown template expression {leftover.group(0)!r}")
    return SqlModel(
        name=name,
        body=body,
        materialized=materialized,
        group=header.get("group", "analytics"),
        description=header.get("description", ""),
        partition_column=column if partitioned else None,
        refs=tuple(dict.fromkeys(m.group(1) for m in _REF.finditer(body))),
        unique_key=unique_key,
    )


def load_models(directory: Path = MODELS_DIR) -> dict[str, SqlModel]:
    """Every model in `directory`, in dependency order; unknown refs and cycles fail loudly."""
    models = {m.name: m for m in map(parse_model, sorted(directory.glob("*.sql")))}
    for model in models.values():
        for ref in model.refs:
            if ref not in models:
                raise ModelError(f"model {model.name!r} refers to unknown model {ref!r}")
    try:
        order = TopologicalSorter({m.name: m.refs for m in models.values()}).static_order()
        return {name: models[name] for name in order}
    except CycleError as exc:
        raise ModelError(f"models depend on each other in a cycle: {exc.args[1]}") from exc


def qualified(name: str) -> str:
    """The relation a materialized model lives in."""
    return f"{SCHEMA}.{name}"


def inline_select(models: Mapping[str, SqlModel], name: str, window: Window | None) -> str:
    """Model `name` as one SELECT over the source tables, its dependencies inlined as CTEs."""
    needed: list[str] = []

    def visit(model_name: str) -> None:
        for ref in models[model_name].refs:
            visit(ref)
        if model_name not in needed:
            needed.append(model_name)

    visit(name)
    ctes = ",\n".join(
        f"{n} AS (\n{models[n].render(str, window if models[n].partitioned else None)}\n)"
        for n in needed
    )
    return f"WITH {ctes}\nSELECT * FROM {name}"


def _relkind(conn: psycopg.Connection, name: str) -> str | None:
    """The kind of the analytics schema's relation `name` (pg_class.relkind: "r" a table, "v" a
    view, "i" an index), or None when there is none."""
    row = conn.execute(
        "SELECT c.relkind FROM pg_class AS c JOIN pg_namespace AS n ON n.oid = c.relnamespace"
        " WHERE n.nspname = %s AND c.relname = %s",
        (SCHEMA, name),
    ).fetchone()
    return None if row is None else row[0]


def _drop_if_kind_changed(conn: psycopg.Connection, model: SqlModel) -> None:
    """Drop the model's relation when its SQL now asks for another kind (view <-> table).

    CASCADE also drops views built on it; they come later in dependency order and are re-created
    by the same run (a kind change is rare, like a migration).
    """
    kind = _relkind(conn, model.name)
    if kind is None:
        return
    is_view = kind == "v"
    if is_view != (model.materialized == "view"):
        kind = sql.SQL("VIEW" if is_view else "TABLE")
        conn.execute(sql.SQL("DROP {} {} CASCADE").format(kind, sql.Identifier(SCHEMA, model.name)))


def _create_relation(conn: psycopg.Connection, model: SqlModel, select: sql.Composable) -> None:
    """Create the model's schema, relation and indexes where missing (or replace its view).

    Two runs that create the same relation at once (a backfill's days as runs on two workers)
    both pass IF NOT EXISTS, and one fails on pg_type's unique index: Postgres does not make
    IF NOT EXISTS or OR REPLACE safe against a concurrent creator. An advisory lock held to the
    end of this short transaction serialises the DDL alone, so the runs' data changes, which
    come after in a transaction of their own, still run side by side.
    """
    target = sql.Identifier(SCHEMA, model.name)
    with conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (MODEL_DDL_LOCK_KEY,))
        conn.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(sql.Identifier(SCHEMA)))
        _drop_if_kind_changed(conn, model)
        if model.materialized == "view":
            conn.execute(sql.SQL("CREATE OR REPLACE VIEW {} AS {}").format(target, select))
            return
        conn.execute(
            sql.SQL("CREATE TABLE IF NOT EXISTS {} AS {} WITH NO DATA").format(target, select)
        )
        if model.materialized == "table" and model.unique_key:
            # Declared unique, the key lets the planner drop a LEFT JOIN to this table from
            # queries that use none of its columns, and probe it where they do.
            _create_index(conn, model, model.unique_key, unique=True)
        if model.partitioned:
            assert model.partition_column is not None
            _create_index(conn, model, model.partition_column, unique=False)


def _create_index(conn: psycopg.Connection, model: SqlModel, column: str, unique: bool) -> None:
    """Create the index on `column` unless it exists.

    Checked by name first rather than with CREATE INDEX IF NOT EXISTS, which takes its SHARE
    lock on the table before it looks: every run of a partitioned model then waited for any
    other run's uncommitted refresh of the table, of whatever day, and a backfill's runs on
    several workers took their turns instead of running side by side. The DDL lock the caller
    holds makes the check and the creation one step.
    """
    name = f"{model.name}_{column}_{'key' if unique else 'idx'}"
    if _relkind(conn, name) is not None:
        return
    conn.execute(
        sql.SQL("CREATE {} INDEX {} ON {} ({})").format(
            sql.SQL("UNIQUE" if unique else ""),
            sql.Identifier(name),
            sql.Identifier(SCHEMA, model.name),
            sql.Identifier(column),
        )
    )


def materialize(conn: psycopg.Connection, model: SqlModel, window: Window | None = None) -> int:
    """Create or refresh the model in the analytics schema; returns the rows it now holds.

    For a partitioned model that is the rows of `window` only. The refresh of the rows runs in
    one transaction, after the relation's creation in its own (see `_create_relation`).
    """
    target = sql.Identifier(SCHEMA, model.name)
    select = sql.SQL(model.render(qualified, window))  # type: ignore[arg-type]
    _create_relation(conn, model, select)
    if model.materialized == "view":
        return 0
    with conn.transaction():
        if model.materialized == "table":
            # Refill in place rather than drop and re-create: views built on this table (a
            # table model may be a dependency) stay valid while it is refreshed.
            conn.execute(sql.SQL("TRUNCATE {}").format(target))
            rows = conn.execute(sql.SQL("INSERT INTO {} {}").format(target, select)).rowcount
            conn.execute(sql.SQL("ANALYZE {}").format(target))
            return rows
        assert window is not None and model.partition_column is not None
        lock_days(conn, f"{SCHEMA}.{model.name}", window_days(window))
        column = sql.Identifier(model.partition_column)
        conn.execute(
            sql.SQL("DELETE FROM {} WHERE {} >= %s AND {} < %s").format(target, column, column),
            window,
        )
        return conn.execute(sql.SQL("INSERT INTO {} {}").format(target, select)).rowcount
