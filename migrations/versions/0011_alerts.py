"""Per-day alert verdicts of the label metrics, and the notifications sent about them.

Revision ID: 0011_alerts
Revises: 0010_privacy_requests
Create Date: 2026-11-29
"""

from everreach.platform.migrations import run_sql_file

revision = "0011_alerts"
down_revision = "0010_privacy_requests"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0011_alerts.up.sql")


def downgrade() -> None:
    run_sql_file("0011_alerts.down.sql")
