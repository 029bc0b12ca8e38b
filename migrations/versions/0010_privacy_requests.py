"""Privacy requests: erasure receipts, suppressed identifiers, the per-day change log.

Revision ID: 0010_privacy_requests
Revises: 0009_retention_drops_partitions
Create Date: 2026-11-29
"""

from everreach.platform.migrations import run_sql_file

revision = "0010_privacy_requests"
down_revision = "0009_retention_drops_partitions"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0010_privacy_requests.up.sql")


def downgrade() -> None:
    run_sql_file("0010_privacy_requests.down.sql")
