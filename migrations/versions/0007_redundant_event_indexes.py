"""Drop the two app_events indexes that others cover: every insert paid for them.

Revision ID: 0007_redundant_event_indexes
Revises: 0006_label_indexes
Create Date: 2026-11-25
"""

from everreach.platform.migrations import run_sql_file

revision = "0007_redundant_event_indexes"
down_revision = "0006_label_indexes"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0007_redundant_event_indexes.up.sql")


def downgrade() -> None:
    run_sql_file("0007_redundant_event_indexes.down.sql")
