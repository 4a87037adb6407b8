"""One engine per process from one URL: SQLite by default (WAL, busy timeout), PostgreSQL for replicas."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, Engine, create_engine, event, insert, inspect, select
from sqlalchemy.pool import NullPool

from store.schema import (
    class_drawings,
    class_members,
    class_scores,
    classes,
    labs,
    metadata,
    runs,
    schema_version,
)

DATABASE_URL_ENV = "ZOL_DATABASE_URL"
DATA_DIR_ENV = "ZOL_DATA_DIR"
DEFAULT_DATA_DIR = Path(__file__).resolve().parent.parent / "data"
SQLITE_FILE = "lab.sqlite3"
# Thirty learners' checkpoints land within the same second: wait for the writer, never fail.
BUSY_TIMEOUT_MS = 30_000
# The version `migrate` brings a database to; each later version adds one step to `MIGRATIONS`.
SCHEMA_VERSION = 3


class StoreError(RuntimeError):
    """The database cannot be used (unreachable, or written by a newer version of the app)."""


def data_dir() -> Path:
    return Path(os.environ.get(DATA_DIR_ENV) or DEFAULT_DATA_DIR)


def database_url() -> str:
    """`ZOL_DATABASE_URL`, else a SQLite file in the data folder (created if missing)."""
    configured = os.environ.get(DATABASE_URL_ENV)
    if configured:
        return configured
    folder = data_dir()
    folder.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{folder / SQLITE_FILE}"


def _sqlite_pragmas(connection: Any, _record: Any) -> None:
    # SQLAlchemy, not pysqlite, begins each transaction (see `_begin_immediate`).
    connection.isolation_level = None
    cursor = connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.close()


def make_engine(url: str | None = None) -> Engine:
    """An engine for `url` (default `database_url()`), its schema created or migrated."""
    url = url or database_url()
    if url.startswith("sqlite"):
        # A transaction that reads, then writes, cannot wait for the write lock (SQLite
        # answers "database is locked" at once): every transaction takes it when it begins.
        engine = create_engine(
            url, connect_args={"timeout": BUSY_TIMEOUT_MS / 1000, "check_same_thread": False}
        )
        event.listen(engine, "connect", _sqlite_pragmas)

        @event.listens_for(engine, "begin")
        def _begin_immediate(connection: Any) -> None:
            connection.exec_driver_sql("BEGIN IMMEDIATE")

    elif url.startswith("postgresql"):
        engine = create_engine(url, pool_pre_ping=True, pool_size=5, max_overflow=10)
    else:
        engine = create_engine(url, poolclass=NullPool)
    try:
        migrate(engine)
    except Exception as error:
        engine.dispose()
        if isinstance(error, StoreError):
            raise
        raise StoreError(f"cannot open the lab database ({_safe(url)}): {error}") from error
    return engine


def _safe(url: str) -> str:
    """The URL without its password, for messages."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _index_clean_up_columns(connection: Connection) -> None:
    """Version 2: index what the daily clean-up searches by."""
    for table, name in ((runs, "runs_by_update"), (labs, "labs_by_touch")):
        index = next(index for index in table.indexes if index.name == name)
        index.create(connection, checkfirst=True)


def _add_class_tables(connection: Connection) -> None:
    """Version 3: the class space (classes, their members, drawings and cached scores)."""
    # Parents before children, for the foreign keys; each table brings its indexes.
    for table in (classes, class_members, class_drawings, class_scores):
        table.create(connection, checkfirst=True)


# Version N's step takes a database at version N - 1 to N; an empty database gets the latest
# schema at once.
MIGRATIONS: dict[int, Any] = {2: _index_clean_up_columns, 3: _add_class_tables}


def current_version(engine: Engine) -> int | None:
    """The database's schema version; None for an empty database."""
    if not inspect(engine).has_table(schema_version.name):
        return None
    with engine.connect() as connection:
        return connection.execute(select(schema_version.c.version)).scalar()


def migrate(engine: Engine) -> None:
    """Create the schema in an empty database, or bring an older one up to `SCHEMA_VERSION`."""
    version = current_version(engine)
    if version is None:
        with engine.begin() as connection:
            metadata.create_all(connection, checkfirst=True)
            if connection.execute(select(schema_version.c.version)).first() is None:
                connection.execute(insert(schema_version).values(version=SCHEMA_VERSION))
        return
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"the lab database has schema version {version}, newer than this app's "
            f"{SCHEMA_VERSION}: update the app, or point {DATABASE_URL_ENV} elsewhere"
        )
    for step in range(version + 1, SCHEMA_VERSION + 1):
        with engine.begin() as connection:
            MIGRATIONS[step](connection)
            connection.execute(schema_version.update().values(version=step))
