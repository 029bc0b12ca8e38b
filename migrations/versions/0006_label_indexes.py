"""Label indexes: (event_name, response_id) and (event_name, occurred_at) for label metrics.

Revision ID: 0006_label_indexes
Revises: 0004_datasets
Create Date: 2026-11-25
"""

from everreach.platform.migrations import run_sql_file

revision = "0006_label_indexes"
down_revision = "0004_datasets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0006_label_indexes.up.sql")


def downgrade() -> None:
    run_sql_file("0006_label_indexes.down.sql")
