"""Connecting to the checkpoint store and bringing its schema up to date (Alembic)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import Engine, create_engine, event, text
from sqlalchemy.engine import make_url
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, sessionmaker

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"


class StoreUnavailable(RuntimeError):
    """The checkpoint store cannot be reached or used."""


def normalise_url(url: str) -> str:
    """`postgresql://` means psycopg 3 here (the driver this project installs)."""
    if url.startswith("postgresql://") or url.startswith("postgres://"):
        return "postgresql+psycopg://" + url.split("://", 1)[1]
    return url


def safe_url(url: str) -> str:
    """The URL with any password hidden, for messages."""
    try:
        return make_url(normalise_url(url)).render_as_string(hide_password=True)
    except ArgumentError:
        return "<unparseable database URL>"


def make_engine(url: str) -> Engine:
    """An engine for SQLite (a file under RPA_HOME by default) or PostgreSQL."""
    url = normalise_url(url)
    try:
        parsed = make_url(url)
    except ArgumentError as exc:
        raise StoreUnavailable(f"RPA_DATABASE_URL is not a database URL: {exc}") from exc
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})
        _serialise_sqlite_writers(engine)
        return engine
    if parsed.get_backend_name() != "postgresql":
        raise StoreUnavailable(
            f"the checkpoint store supports SQLite and PostgreSQL, not {parsed.get_backend_name()}"
        )
    return create_engine(url, pool_pre_ping=True, connect_args={"connect_timeout": 10})


def _serialise_sqlite_writers(engine: Engine) -> None:
    # pysqlite starts transactions lazily and upgrades read locks to write locks, which
    # fails at once ("database is locked") when two processes do it together. BEGIN
    # IMMEDIATE takes the write lock up front and waits for it (SQLAlchemy's recipe).
    @event.listens_for(engine, "connect")
    def _connect(dbapi_connection: Any, record: Any) -> None:
        dbapi_connection.isolation_level = None
        dbapi_connection.execute("PRAGMA foreign_keys=ON")
        dbapi_connection.execute("PRAGMA journal_mode=WAL")
        dbapi_connection.execute("PRAGMA busy_timeout=30000")

    @event.listens_for(engine, "begin")
    def _begin(connection: Any) -> None:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


def upgrade(engine: Engine) -> str:
    """Run the migrations up to the newest; return the revision the database is at."""
    from alembic import command
    from alembic.config import Config
    from alembic.runtime.migration import MigrationContext

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    try:
        with engine.begin() as connection:
            if connection.dialect.name == "postgresql":
                # Two processes upgrading at once: the second waits, then finds nothing to do.
                connection.execute(text("SELECT pg_advisory_xact_lock(4711001)"))
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
            revision = MigrationContext.configure(connection).get_current_revision()
    except OperationalError as exc:
        raise StoreUnavailable(
            f"the checkpoint store at {safe_url(str(engine.url))} cannot be reached: "
            f"{_first_line(exc)}"
        ) from exc
    return revision or "base"


@contextmanager
def session_scope(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: committed when the block ends, rolled back on any error."""
    session = factory()
    try:
        with session.begin():
            yield session
    except OperationalError as exc:
        raise StoreUnavailable(f"the checkpoint store failed: {_first_line(exc)}") from exc
    finally:
        session.close()


def _first_line(exc: SQLAlchemyError) -> str:
    orig = getattr(exc, "orig", None)
    lines = str(orig if orig is not None else exc).strip().splitlines()
    return lines[0] if lines else type(exc).__name__
