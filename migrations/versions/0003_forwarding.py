"""Forwarding: the transactional outbox for PostHog and the marketing webhook.

Revision ID: 0003_forwarding
Revises: 0001_foundation
Create Date: 2026-11-26
"""

from everreach.platform.migrations import run_sql_file

revision = "0003_forwarding"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0003_forwarding.up.sql")


def downgrade() -> None:
    run_sql_file("0003_forwarding.down.sql")
