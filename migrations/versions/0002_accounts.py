"""Accounts: roles for row-level security, RLS policies, keyset index for a user's events.

Revision ID: 0002_accounts
Revises: 0001_foundation
Create Date: 2026-11-26
"""

from everreach.platform.migrations import run_sql_file

revision = "0002_accounts"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0002_accounts.up.sql")


def downgrade() -> None:
    run_sql_file("0002_accounts.down.sql")
