"""Four eyes: edits proposed by one person and confirmed by another.

Revision ID: 0003
Revises: 0002
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from checkpoints.store.models import UTCDateTime

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("decisions", sa.Column("confirmed_by", sa.String(200)))
    op.create_table(
        "edit_proposals",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column(
            "checkpoint_id",
            sa.String(40),
            sa.ForeignKey("checkpoints.id"),
            nullable=False,
            index=True,
        ),
        sa.Column("proposed_by", sa.String(200), nullable=False),
        sa.Column("channel", sa.String(30), nullable=False),
        sa.Column("proposed_at", UTCDateTime(), nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("values", sa.JSON(), nullable=False),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("reviewed_by", sa.String(200)),
        sa.Column("reviewed_at", UTCDateTime()),
    )


def downgrade() -> None:
    op.drop_table("edit_proposals")
    with op.batch_alter_table("decisions") as batch:
        batch.drop_column("confirmed_by")
