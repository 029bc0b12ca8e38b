"""Partition app_events by UTC day of occurred_at; dedup through the narrow event_ids table.

Existing installs migrate in place: `prepare` makes the new tables and functions, the copy runs
in batches that each commit (outside the revision's transaction, so an interrupted migration
keeps what it copied and resumes there when re-run), and `swap` puts the new table in place of
the old one in the transaction that stamps the revision.

Revision ID: 0008_partitioned_events
Revises: 0007_redundant_event_indexes
Create Date: 2026-11-29
"""

from alembic import op

from everreach.platform.migrations import run_sql_file

revision = "0008_partitioned_events"
down_revision = "0007_redundant_event_indexes"
branch_labels = None
depends_on = ("0002_accounts",)  # its policies and grants are re-made on the new table

COPY_BATCH_ROWS = 50_000


def upgrade() -> None:
    run_sql_file("0008_partitioned_events.prepare.sql")
    with op.get_context().autocommit_block():
        op.get_bind().connection.driver_connection.execute(
            "CALL copy_events_to_partitions(%s)", (COPY_BATCH_ROWS,)
        )
    run_sql_file("0008_partitioned_events.swap.sql")


def downgrade() -> None:
    run_sql_file("0008_partitioned_events.down.sql")
