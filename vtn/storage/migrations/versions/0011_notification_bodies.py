"""Notification bodies stored once per change (outbox rows of a fan-out refer to one body row);
the claim's two outbox indexes hold pending rows only

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-05 02:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'notification_bodies',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('body', sa.Text(), nullable=False),
        sa.Column('created_us', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_notification_bodies')),
    )
    with op.batch_alter_table('outbox') as batch:
        batch.add_column(sa.Column('body_id', sa.BigInteger(), nullable=True))
        batch.alter_column('body', existing_type=sa.Text(), nullable=True)
        batch.create_index(batch.f('ix_outbox_body_id'), ['body_id'], unique=False)
    op.drop_index('ix_outbox_sink_status_id', table_name='outbox')
    op.drop_index('ix_outbox_status_next_id', table_name='outbox')
    pending = sa.text("status = 'pending'")
    for name, columns in (
        ('ix_outbox_pending_sink_id', ['sink', 'id']),
        ('ix_outbox_pending_next_id', ['next_attempt_us', 'id']),
    ):
        op.create_index(name, 'outbox', columns, unique=False, sqlite_where=pending, postgresql_where=pending)


def downgrade() -> None:
    # Rows that refer to a shared body get it back inline before the column goes.
    op.execute(
        'UPDATE outbox SET body = (SELECT b.body FROM notification_bodies b WHERE b.id = outbox.body_id) '
        'WHERE body_id IS NOT NULL'
    )
    op.drop_index('ix_outbox_pending_next_id', table_name='outbox')
    op.drop_index('ix_outbox_pending_sink_id', table_name='outbox')
    op.create_index('ix_outbox_status_next_id', 'outbox', ['status', 'next_attempt_us', 'id'], unique=False)
    op.create_index('ix_outbox_sink_status_id', 'outbox', ['sink', 'status', 'id'], unique=False)
    with op.batch_alter_table('outbox') as batch:
        batch.drop_index(batch.f('ix_outbox_body_id'))
        batch.alter_column('body', existing_type=sa.Text(), nullable=False)
        batch.drop_column('body_id')
    op.drop_table('notification_bodies')
