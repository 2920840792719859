"""Console operators (people with passwords and roles) and their sessions

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04 19:50:00.000000

Follows 0008 (the partner sandbox).
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'operators',
        sa.Column('name', sa.String(length=64), nullable=False),
        sa.Column('role', sa.String(length=16), nullable=False),
        sa.Column('password_hash', sa.String(length=256), nullable=False),
        sa.Column('failed_logins', sa.Integer(), server_default='0', nullable=False),
        sa.Column('locked_until_us', sa.BigInteger(), nullable=True),
        sa.Column('created_us', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_operators')),
    )
    op.create_table(
        'operator_sessions',
        sa.Column('token_hash', sa.String(length=64), nullable=False),
        sa.Column('operator_name', sa.String(length=64), nullable=False),
        sa.Column('csrf_token', sa.String(length=64), nullable=False),
        sa.Column('created_us', sa.BigInteger(), nullable=False),
        sa.Column('expires_us', sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(
            ['operator_name'], ['operators.name'],
            name=op.f('fk_operator_sessions_operator_name_operators'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('token_hash', name=op.f('pk_operator_sessions')),
    )
    op.create_index(
        op.f('ix_operator_sessions_operator_name'), 'operator_sessions', ['operator_name'], unique=False
    )


def downgrade() -> None:
    op.drop_index(op.f('ix_operator_sessions_operator_name'), table_name='operator_sessions')
    op.drop_table('operator_sessions')
    op.drop_table('operators')
