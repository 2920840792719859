"""Program automation: grid areas and the per-day runs (published event, claim lease) of programs

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-04 19:30:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'areas',
        sa.Column('name', sa.String(length=128), nullable=False),
        sa.Column('kind', sa.String(length=16), nullable=False),
        sa.Column('import_kw', sa.Float(), nullable=False),
        sa.Column('export_kw', sa.Float(), nullable=False),
        sa.Column('created_us', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_areas')),
    )
    op.create_table(
        'program_runs',
        sa.Column('job', sa.String(length=200), nullable=False),
        sa.Column('day', sa.String(length=10), nullable=False),
        sa.Column('event_id', sa.String(length=128), nullable=True),
        sa.Column('claimed_by', sa.String(length=64), nullable=True),
        sa.Column('lease_until_us', sa.BigInteger(), nullable=True),
        sa.Column('done_us', sa.BigInteger(), nullable=True),
        sa.Column('state', sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint('job', 'day', name=op.f('pk_program_runs')),
    )


def downgrade() -> None:
    op.drop_table('program_runs')
    op.drop_table('areas')
