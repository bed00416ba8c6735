"""Connections to the store: one write path, one read path, migrations at start-up.

SQLite allows one writer at a time. Write transactions start with ``BEGIN IMMEDIATE`` so a writer
takes the lock before it reads instead of failing when a read transaction tries to upgrade; the
writers of this process take turns in arrival order (``writers.py``) and SQLite's busy timeout
covers other processes. Reads use a second engine with plain deferred transactions so they never
take the write lock and run beside the writer under WAL. On PostgreSQL both paths are ordinary
transactions. Both paths are the store's boundary: a store that cannot work at all surfaces as
``StoreUnavailable`` (``unavailable.py``), never as a driver exception.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event

from batchyard.store.unavailable import OutageLog, translated
from batchyard.store.writers import QueuedWriter

log = logging.getLogger(__name__)

_MIGRATIONS = Path(__file__).parent / "migrations"


def _sqlite_engine(url: str, begin: str, busy_timeout_s: float) -> Engine:
    engine = create_engine(url, connect_args={"timeout": busy_timeout_s, "check_same_thread": False})

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA cache_size=-65536")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        conn.exec_driver_sql(begin)

    return engine


class Database:
    """Owns the engines; every unit of work goes through ``write()`` or ``read()``."""

    def __init__(self, url: str, busy_timeout_s: float = 30.0) -> None:
        """``busy_timeout_s``: how long a SQLite writer waits, in line and for the lock, before it fails."""
        self.url = url
        self._outage = OutageLog()
        self._connect_writer: Callable[[], AbstractContextManager[Connection]]
        if url.startswith("sqlite"):
            self._writer = _sqlite_engine(url, "BEGIN IMMEDIATE", busy_timeout_s)
            self._reader = _sqlite_engine(url, "BEGIN", busy_timeout_s)
            self._connect_writer = QueuedWriter(self._writer, busy_timeout_s).connect
        else:
            self._writer = create_engine(url, pool_pre_ping=True)
            self._reader = self._writer
            self._connect_writer = self._writer.connect

    def migrate(self) -> None:
        """Bring the schema to the newest revision; safe to run on every start."""
        config = Config()
        config.set_main_option("script_location", str(_MIGRATIONS))
        with self._writer.connect() as conn:
            config.attributes["connection"] = conn
            command.upgrade(config, "head")
            conn.commit()
        log.info("store schema is at the newest revision (%s)", self._writer.url.render_as_string())

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """Keep the block to store work: the next writer in line waits for all of it."""
        with translated(self._outage), self._connect_writer() as conn, conn.begin():
            yield conn
        self._outage.written()

    @contextmanager
    def read(self) -> Iterator[Connection]:
        with translated(self._outage), self._reader.begin() as conn:
            yield conn

    def close(self) -> None:
        self._writer.dispose()
        self._reader.dispose()
