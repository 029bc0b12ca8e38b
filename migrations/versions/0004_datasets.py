"""Datasets: the analytics schema, retention functions and their run log, a feedback index.

Revision ID: 0004_datasets
Revises: 0001_foundation
Create Date: 2026-11-26
"""

from everreach.platform.migrations import run_sql_file

revision = "0004_datasets"
down_revision = "0001_foundation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    run_sql_file("0004_datasets.up.sql")


def downgrade() -> None:
    run_sql_file("0004_datasets.down.sql")
