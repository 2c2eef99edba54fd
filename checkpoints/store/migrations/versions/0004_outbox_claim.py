"""The outbox claims each entry before sending it: who, and until when (a lease).

Revision ID: 0004
Revises: 0003
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from checkpoints.store.models import UTCDateTime

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("chat_posts", sa.Column("claimed_by", sa.String(100)))
    op.add_column("chat_posts", sa.Column("claimed_until", UTCDateTime()))


def downgrade() -> None:
    with op.batch_alter_table("chat_posts") as batch:
        batch.drop_column("claimed_until")
        batch.drop_column("claimed_by")
