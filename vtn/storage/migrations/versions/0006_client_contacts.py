"""client_contacts: when each client first and last called the VTN (VENs seen, first-seen log line)

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04 19:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op


revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'client_contacts',
        sa.Column('client_id', sa.String(length=128), nullable=False),
        sa.Column('role', sa.String(length=8), nullable=False),
        sa.Column('first_seen_us', sa.BigInteger(), nullable=False),
        sa.Column('last_seen_us', sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint('client_id', name=op.f('pk_client_contacts')),
    )
    op.create_index(
        'ix_client_contacts_role_last_seen_us', 'client_contacts', ['role', 'last_seen_us'], unique=False
    )


def downgrade() -> None:
    op.drop_index('ix_client_contacts_role_last_seen_us', table_name='client_contacts')
    op.drop_table('client_contacts')
