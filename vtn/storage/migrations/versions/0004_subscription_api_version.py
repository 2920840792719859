"""subscriptions.api_version (3.0.1 notification bodies); outbox claim index ends in id

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-26 10:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Nullable, no default: existing subscriptions keep getting 3.1.0 notifications, as before.
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('api_version', sa.String(length=16), nullable=True))
    # The claim orders by (next_attempt_us, id): with id in the index PostgreSQL walks it and stops
    # at the claim's limit instead of sorting every pending row (see vtn/storage/outbox.py).
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_next')
        batch_op.create_index('ix_outbox_status_next_id', ['status', 'next_attempt_us', 'id'], unique=False)


def downgrade() -> None:
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_status_next_id')
        batch_op.create_index('ix_outbox_status_next', ['status', 'next_attempt_us'], unique=False)
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_column('api_version')
