"""SQLite (WAL) with durable commits, and durable file writes.

``connect`` opens a database in WAL mode with ``synchronous=FULL``: in WAL mode that syncs the log at
every commit, so a write acknowledged after ``transaction()`` returns survives a ``kill -9`` (and a power
cut). ``transaction`` takes the write lock at ``BEGIN IMMEDIATE``, so a check-then-write (a vote cap, a
status change) sees no other writer between its read and its write, even across processes.
"""

from __future__ import annotations

import contextlib
import os
import sqlite3
import uuid
from collections.abc import Iterator
from pathlib import Path


def connect(path: str | os.PathLike, *, busy_timeout_ms: int = 10_000) -> sqlite3.Connection:
    """Open (creating 0600) the database at *path*: WAL, durable commits, rows as ``sqlite3.Row``.

    The connection is in autocommit mode: group writes with :func:`transaction`.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    conn = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute(f"PRAGMA busy_timeout={int(busy_timeout_ms)}")
    mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
    if mode.lower() != "wal":
        raise RuntimeError(f"{path}: SQLite refused WAL mode (got {mode!r}): put the state folder on a local disk")
    conn.execute("PRAGMA synchronous=FULL")
    conn.execute("PRAGMA foreign_keys=ON")
    return conn


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``with transaction(conn):`` one write transaction (``BEGIN IMMEDIATE``), committed durably or rolled back."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


def fsync_dir(path: str | os.PathLike) -> None:
    """Flush a folder's entries (a new or renamed file) to disk."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_durably(path: str | os.PathLike, data: bytes, mode: int = 0o400) -> None:
    """Write *data* to *path* through a temp file, fsync it and its folder, then set *mode* (read-only by default)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex}.tmp")
    with open(tmp, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    os.chmod(tmp, mode)
    os.replace(tmp, path)
    fsync_dir(path.parent)
