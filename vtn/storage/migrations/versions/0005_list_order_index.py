"""(created_us, id) index on every listed object table: first pages stay fast at 100,000s of rows

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 12:10:00.000000
"""

from __future__ import annotations

from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None

TABLES = ('programs', 'events', 'vens', 'resources', 'reports', 'subscriptions')


def upgrade() -> None:
    for table in TABLES:
        op.create_index(f'ix_{table}_created_us_id', table, ['created_us', 'id'], unique=False)


def downgrade() -> None:
    for table in TABLES:
        op.drop_index(f'ix_{table}_created_us_id', table_name=table)
