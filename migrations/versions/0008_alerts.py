"""Per-day alert verdicts of the label metrics, and the notifications sent about them.

Revision ID: 0008_alerts
Revises: 0007_redundant_event_indexes
Create Date: 2026-11-29
"""

from everreach.platform.migrations import run_sql_file

revision = "0008_alerts"
down_revision = "0007_redundant_event_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0008_alerts.up.sql")


def downgrade() -> None:
    run_sql_file("0008_alerts.down.sql")
