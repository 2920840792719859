"""Partial indexes of the subscriptions naming each kind of object (tables.names_kind)

The fan-out candidates of a write (SubscriptionRepo.candidates) are the subscriptions naming its
kind; every subscription write asks for those naming SUBSCRIPTION, mostly none, and each ask was a
scan of the table with LIKE. With these the ask reads only the rows naming the kind.

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06 03:40:00.000000
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None

# The kinds as of this revision (shared.enums.ObjectType), spelled here: a migration does not move.
KINDS = ("PROGRAM", "EVENT", "REPORT", "SUBSCRIPTION", "VEN", "RESOURCE")


def upgrade() -> None:
    for kind in KINDS:
        condition = sa.text(f"objects LIKE '%,{kind},%'")
        op.create_index(
            f"ix_subscriptions_names_{kind.lower()}",
            "subscriptions",
            ["created_us", "id"],
            sqlite_where=condition,
            postgresql_where=condition,
        )


def downgrade() -> None:
    for kind in KINDS:
        op.drop_index(f"ix_subscriptions_names_{kind.lower()}", table_name="subscriptions")
