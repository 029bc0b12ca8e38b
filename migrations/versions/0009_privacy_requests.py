"""Privacy requests: erasure receipts, suppressed identifiers, the per-day change log.

Revision ID: 0009_privacy_requests
Revises: 0007_redundant_event_indexes (0008 is the event-store partitioning; re-point
down_revision to it when both are merged)
Create Date: 2026-11-29
"""

from everreach.platform.migrations import run_sql_file

revision = "0009_privacy_requests"
down_revision = "0007_redundant_event_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0009_privacy_requests.up.sql")


def downgrade() -> None:
    run_sql_file("0009_privacy_requests.down.sql")
