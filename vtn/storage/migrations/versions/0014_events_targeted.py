"""Events carry whether they have targets (`targeted`): true exactly when the event has target rows
in object_targets

A VEN's list of events then keeps the untargeted events by a column of the row, without a
correlated NOT EXISTS over object_targets per event (vtn/storage/shapes.py). Existing rows are
marked from their target rows, which every event write has kept since 0001.

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-06 00:20:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # A plain ALTER TABLE ADD COLUMN, as 0012 and 0013: batch mode would copy `events`.
    op.add_column("events", sa.Column("targeted", sa.Boolean(), server_default=sa.false(), nullable=False))
    events = sa.table("events", sa.column("id", sa.String), sa.column("targeted", sa.Boolean))
    targets = sa.table("object_targets", sa.column("kind", sa.String), sa.column("object_id", sa.String))
    has_rows = (
        sa.select(targets.c.object_id)
        .where(targets.c.kind == "EVENT", targets.c.object_id == events.c.id)
        .exists()
    )
    op.execute(sa.update(events).values(targeted=has_rows))


def downgrade() -> None:
    op.execute("ALTER TABLE events DROP COLUMN targeted")
