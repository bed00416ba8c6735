"""The store's write path: writers served in arrival order, within one wait budget, and failures named."""

from __future__ import annotations

import sqlite3
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import pytest
from sqlalchemy.exc import OperationalError

from batchyard.store.database import Database
from batchyard.store.unavailable import StoreUnavailable


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    path = tmp_path / "store.db"
    db = Database(f"sqlite:///{path}")
    with db.write() as conn:
        conn.exec_driver_sql("CREATE TABLE t (x INTEGER)")
    db.close()
    return path


@contextmanager
def opened(url: str, busy_timeout_s: float = 30.0) -> Iterator[Database]:
    db = Database(url, busy_timeout_s)
    try:
        yield db
    finally:
        db.close()


@contextmanager
def locked_elsewhere(path: Path) -> Iterator[None]:
    other = sqlite3.connect(path, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        yield
    finally:
        other.execute("ROLLBACK")
        other.close()


def insert(db: Database, value: int) -> None:
    with db.write() as conn:
        conn.exec_driver_sql(f"INSERT INTO t VALUES ({value})")


def refusal(db: Database, value: int) -> StoreUnavailable:
    with pytest.raises(StoreUnavailable) as refused:
        insert(db, value)
    return refused.value


def test_writers_get_the_store_in_the_order_they_asked_for_it(db_path: Path) -> None:
    order: list[int] = []

    def write(i: int) -> None:
        with db.write():
            order.append(i)

    with opened(f"sqlite:///{db_path}") as db:
        threads = [threading.Thread(target=write, args=(i,)) for i in range(8)]
        with db.write():  # every thread queues behind this one, 50 ms after the one before
            for t in threads:
                t.start()
                time.sleep(0.05)
        for t in threads:
            t.join()
    assert order == list(range(8))


def test_writers_queued_behind_another_process_all_fail_within_one_budget(db_path: Path) -> None:
    """The budget covers the wait in line and for the lock together: not five budgets for the fifth."""
    with opened(f"sqlite:///{db_path}", busy_timeout_s=0.3) as db, locked_elsewhere(db_path):
        start = time.monotonic()
        with ThreadPoolExecutor(5) as pool:
            refusals = list(pool.map(lambda i: refusal(db, i), range(5)))
        elapsed = time.monotonic() - start
    assert elapsed < 0.9
    causes = {r.cause for r in refusals}
    assert "database is locked" in causes
    assert causes <= {"database is locked", "busy: other writers held it for 0.3 s"}


def test_a_read_only_store_is_unavailable_and_says_so(db_path: Path) -> None:
    with opened(f"sqlite:///file:{db_path}?mode=ro&uri=true") as db:
        refused = refusal(db, 1)
    assert refused.code == "InternalError"
    assert refused.message == (
        "The store is unavailable (attempt to write a readonly database); the request was not applied."
        " Please retry later."
    )


def test_a_broken_statement_is_a_bug_not_an_unavailable_store(db_path: Path) -> None:
    with (
        opened(f"sqlite:///{db_path}") as db,
        pytest.raises(OperationalError, match="no such table"),
        db.write() as conn,
    ):
        conn.exec_driver_sql("INSERT INTO missing VALUES (1)")


def test_an_outage_is_logged_once_when_it_starts_and_once_when_it_ends(
    db_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    with opened(f"sqlite:///{db_path}", busy_timeout_s=0.05) as db:
        with locked_elsewhere(db_path):
            for i in range(3):
                refusal(db, i)
        insert(db, 4)
        insert(db, 5)
    lines = [r.getMessage() for r in caplog.records if r.name == "batchyard.store.unavailable"]
    assert len(lines) == 2
    assert lines[0].startswith("store unavailable (database is locked)")
    assert lines[1].startswith("store available again") and lines[1].endswith("(refusals meanwhile: 3)")
