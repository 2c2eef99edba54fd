"""Alembic environment: runs on the connection `checkpoints.store.db.upgrade` passes in."""

from __future__ import annotations

from alembic import context

from checkpoints.store.models import Base

connection = context.config.attributes.get("connection")
if connection is None:
    raise RuntimeError("run the store's migrations with `rpa db upgrade`")
context.configure(
    connection=connection,
    target_metadata=Base.metadata,
    render_as_batch=connection.dialect.name == "sqlite",
)
context.run_migrations()
