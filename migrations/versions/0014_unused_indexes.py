"""Drop two indexes no query needs: app_events' response_id (which (event_name, response_id)
covers) and prompts' contact_id.

Revision ID: 0014_unused_indexes
Revises: 0013_system_events_retention
Create Date: 2026-11-30
"""

from everreach.platform.migrations import run_sql_file

revision = "0014_unused_indexes"
down_revision = "0013_system_events_retention"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0014_unused_indexes.up.sql")


def downgrade() -> None:
    run_sql_file("0014_unused_indexes.down.sql")
