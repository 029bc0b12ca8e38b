"""Foundation: events, quarantine, prompts, responses, users, password resets, helper functions.

Revision ID: 0001_foundation
Revises:
Create Date: 2026-11-25
"""

from everreach.platform.migrations import run_sql_file

revision = "0001_foundation"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0001_foundation.up.sql")


def downgrade() -> None:
    run_sql_file("0001_foundation.down.sql")
