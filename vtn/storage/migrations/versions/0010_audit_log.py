"""Audit log, login lockout, and the grace secret of a rotated client

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column('clients', sa.Column('previous_secret_hash', sa.String(length=256), nullable=True))
    op.add_column('clients', sa.Column('previous_until_us', sa.BigInteger(), nullable=True))
    op.create_table(
        'login_failures',
        sa.Column('client_id', sa.String(length=128), nullable=False),
        sa.Column('failures', sa.Integer(), nullable=False),
        sa.Column('last_us', sa.BigInteger(), nullable=False),
        sa.Column('locked_until_us', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('client_id', name=op.f('pk_login_failures')),
    )
    op.create_table(
        'audit_log',
        sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
        sa.Column('at_us', sa.BigInteger(), nullable=False),
        sa.Column('actor', sa.String(length=128), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('action', sa.String(length=32), nullable=False),
        sa.Column('object_type', sa.String(length=32), nullable=True),
        sa.Column('object_id', sa.String(length=128), nullable=True),
        sa.Column('address', sa.String(length=64), nullable=True),
        sa.Column('detail', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log')),
    )
    op.create_index(op.f('ix_audit_log_at_us'), 'audit_log', ['at_us'], unique=False)


def downgrade() -> None:
    op.drop_index(op.f('ix_audit_log_at_us'), table_name='audit_log')
    op.drop_table('audit_log')
    op.drop_table('login_failures')
    with op.batch_alter_table('clients') as batch:
        batch.drop_column('previous_until_us')
        batch.drop_column('previous_secret_hash')
