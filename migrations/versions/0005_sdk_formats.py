"""SDK formats: the sdk_system_events table for PostHog/Segment system events.

Revision ID: 0005_sdk_formats
Revises: 0001_foundation
Create Date: 2026-11-26
"""

from everreach.platform.migrations import run_sql_file

revision = "0005_sdk_formats"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0005_sdk_formats.up.sql")


def downgrade() -> None:
    run_sql_file("0005_sdk_formats.down.sql")
