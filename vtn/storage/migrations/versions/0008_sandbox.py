"""Partner sandbox: clients.sandbox, programs/events.sandbox_client (the owning sandbox client)

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04 19:45:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sandbox', sa.Boolean(), server_default=sa.false(), nullable=False))
    for table in ('programs', 'events'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('sandbox_client', sa.String(length=128), nullable=True))
            batch_op.create_index(f'ix_{table}_sandbox_client', ['sandbox_client'], unique=False)


def downgrade() -> None:
    for table in ('events', 'programs'):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_index(f'ix_{table}_sandbox_client')
            batch_op.drop_column('sandbox_client')
    with op.batch_alter_table('clients', schema=None) as batch_op:
        batch_op.drop_column('sandbox')
