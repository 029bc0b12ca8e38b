"""Event retention drops whole day partitions and deletes rows only in the boundary day.

Revision ID: 0009_retention_drops_partitions
Revises: 0008_partitioned_events
Create Date: 2026-11-29
"""

from everreach.platform.migrations import run_sql_file

revision = "0009_retention_drops_partitions"
down_revision = "0008_partitioned_events"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0009_retention_drops_partitions.up.sql")
    run_sql_file("0009_cleanup_old_events.sql")


def downgrade() -> None:
    run_sql_file("0009_retention_drops_partitions.down.sql")
