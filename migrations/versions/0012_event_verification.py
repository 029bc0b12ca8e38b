"""Record on each event whether its user_id was proven by the sender's own token.

Revision ID: 0012_event_verification
Revises: 0011_alerts
Create Date: 2026-11-29
"""

from everreach.platform.migrations import run_sql_file

revision = "0012_event_verification"
down_revision = "0011_alerts"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0012_event_verification.up.sql")


def downgrade() -> None:
    run_sql_file("0012_event_verification.down.sql")
