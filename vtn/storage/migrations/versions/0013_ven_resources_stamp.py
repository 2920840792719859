"""Vens carry a stamp of their resources (`resources_stamp`): a new random value whenever one of the
ven's resources is written

A page of 3.0.1 vens (each embedding its resources) is then known unchanged from the vens' rows
alone, without reading their resources (vtn/storage/tables.py). Existing rows get 0: their
resources' next write gives them a stamp of their own.

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-05 22:00:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ALTER TABLE ADD COLUMN, as 0012: batch mode would copy `vens`, and on SQLite dropping
    # the original deletes its resources (ON DELETE CASCADE).
    op.add_column('vens', sa.Column('resources_stamp', sa.BigInteger(), server_default='0', nullable=False))


def downgrade() -> None:
    op.execute('ALTER TABLE vens DROP COLUMN resources_stamp')
