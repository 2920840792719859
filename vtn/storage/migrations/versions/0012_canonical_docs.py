"""Stored documents marked canonical (spelled as json.dumps would spell them), and programs/events
indexed on (sandbox_client, created_us, id) instead of sandbox_client alone

`canonical` lets a list answer join its documents without checking their spelling per request
(vtn/storage/tables.py). Existing rows are checked here, once, in batches; a row this migration does
not mark stays false and is checked when read, as before.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-05 01:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from shared.wire.oadr3_json import canonical

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

TABLES = ('programs', 'events', 'vens', 'resources', 'reports', 'subscriptions')
SANDBOXED = ('programs', 'events')
BATCH = 1000


def _mark(table: str) -> None:
    conn = op.get_bind()
    rows = sa.table(table, sa.column('id', sa.String), sa.column('doc', sa.Text), sa.column('canonical', sa.Boolean))
    mark = sa.update(rows).where(rows.c.id == sa.bindparam('row_id')).values(canonical=True)
    after = ''
    while True:
        batch = conn.execute(
            sa.select(rows.c.id, rows.c.doc).where(rows.c.id > after).order_by(rows.c.id).limit(BATCH)
        ).all()
        if not batch:
            return
        marked = [{'row_id': row_id} for row_id, doc in batch if canonical(doc)]
        if marked:
            conn.execute(mark, marked)
        after = batch[-1][0]


def upgrade() -> None:
    # A plain ALTER TABLE ADD COLUMN: batch mode would copy each table and drop the original, and on
    # SQLite dropping `vens` or `programs` deletes their resources or events (ON DELETE CASCADE).
    for table in TABLES:
        op.add_column(table, sa.Column('canonical', sa.Boolean(), server_default=sa.false(), nullable=False))
    for table in SANDBOXED:
        op.drop_index(f'ix_{table}_sandbox_client', table_name=table)
        op.create_index(
            f'ix_{table}_sandbox_client_created_us_id', table, ['sandbox_client', 'created_us', 'id'], unique=False
        )
    for table in TABLES:
        _mark(table)


def downgrade() -> None:
    for table in SANDBOXED:
        op.drop_index(f'ix_{table}_sandbox_client_created_us_id', table_name=table)
        op.create_index(f'ix_{table}_sandbox_client', table, ['sandbox_client'], unique=False)
    for table in TABLES:
        # ALTER TABLE DROP COLUMN (SQLite 3.35+), not batch mode's copy (see upgrade).
        op.execute(f'ALTER TABLE {table} DROP COLUMN canonical')
