"""Retention covers SDK system events: cleanup_old_events removes them with the product events.

Revision ID: 0013_system_events_retention
Revises: 0012_event_verification
Create Date: 2026-11-29
"""

from everreach.platform.migrations import run_sql_file

revision = "0013_system_events_retention"
down_revision = "0012_event_verification"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0013_system_events_retention.up.sql")


def downgrade() -> None:
    # Back to 0009's function: SDK system events are no longer removed.
    run_sql_file("0009_cleanup_old_events.sql")
