"""The data requests' tables in the commons' SQLite (WAL) database.

Every write is one ``BEGIN IMMEDIATE`` transaction, so it is durable once the call returns (the
commons opens its database with ``synchronous=FULL``) and concurrent writers queue instead of racing:
a person supports a request once however many times they press the button at once.
"""

from __future__ import annotations

import json
import sqlite3
import time

from backstage.web import transaction

__all__ = ["SCHEMA", "RequestStore"]

SCHEMA = """
CREATE TABLE IF NOT EXISTS requests (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    body TEXT NOT NULL,
    publisher TEXT NOT NULL DEFAULT '',
    dataset TEXT NOT NULL DEFAULT '',
    barrier TEXT NOT NULL DEFAULT '',
    confidential INTEGER NOT NULL DEFAULT 0,
    author TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open',
    filed REAL NOT NULL,
    respond_by TEXT NOT NULL,
    first_answer REAL,
    updated REAL NOT NULL,
    answer_dataset TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS requests_due ON requests(status, respond_by);
CREATE TABLE IF NOT EXISTS request_events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    request_id INTEGER NOT NULL REFERENCES requests(id),
    at REAL NOT NULL,
    actor TEXT NOT NULL,
    kind TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    dataset TEXT NOT NULL DEFAULT ''
);
CREATE INDEX IF NOT EXISTS request_events_request ON request_events(request_id, id);
CREATE TABLE IF NOT EXISTS request_supporters (
    request_id INTEGER NOT NULL REFERENCES requests(id),
    person TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (request_id, person)
);
CREATE TABLE IF NOT EXISTS updates (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    person TEXT NOT NULL,
    at REAL NOT NULL,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    text TEXT NOT NULL,
    link TEXT NOT NULL DEFAULT '',
    seen INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX IF NOT EXISTS updates_person ON updates(person, id);
CREATE TABLE IF NOT EXISTS dashboard_problems (
    slug TEXT PRIMARY KEY,
    title TEXT NOT NULL,
    author TEXT NOT NULL,
    since REAL NOT NULL,
    checked REAL NOT NULL,
    datasets TEXT NOT NULL DEFAULT '[]',
    detail TEXT NOT NULL DEFAULT '',
    request_ids TEXT NOT NULL DEFAULT '[]'
);
"""

_REQUEST_COLUMNS = ("kind", "title", "body", "publisher", "dataset", "barrier", "confidential")


class RequestStore:
    """Reads and writes of the requests' tables on an open SQLite connection (autocommit mode)."""

    def __init__(self, db: sqlite3.Connection):
        self.db = db
        self.db.row_factory = sqlite3.Row
        self.db.executescript(SCHEMA)

    def transaction(self):
        return transaction(self.db)

    # -- requests -------------------------------------------------------------------------------
    def add(self, fields: dict, author: str, respond_by: str, now: float | None = None) -> int:
        now = now or time.time()
        with self.transaction() as db:
            cur = db.execute(
                f"INSERT INTO requests ({', '.join(_REQUEST_COLUMNS)}, author, status, filed, respond_by, updated)"  # noqa: S608
                f" VALUES ({', '.join('?' * len(_REQUEST_COLUMNS))}, ?, 'open', ?, ?, ?)",
                (*(fields[c] for c in _REQUEST_COLUMNS), author, now, respond_by, now),
            )
            request_id = cur.lastrowid
            db.execute("INSERT INTO request_events (request_id, at, actor, kind, status, message) VALUES (?,?,?,?,?,?)",
                       (request_id, now, author, "filed", "open", ""))
        return request_id

    def get(self, request_id: int) -> dict | None:
        row = self.db.execute(
            "SELECT r.*, (SELECT COUNT(*) FROM request_supporters s WHERE s.request_id = r.id) AS supporters"
            " FROM requests r WHERE r.id = ?", (request_id,)).fetchone()
        return self._row(row)

    def all(self) -> list[dict]:
        rows = self.db.execute(
            "SELECT r.*, (SELECT COUNT(*) FROM request_supporters s WHERE s.request_id = r.id) AS supporters"
            " FROM requests r ORDER BY r.id")
        return [self._row(r) for r in rows]

    @staticmethod
    def _row(row) -> dict | None:
        if row is None:
            return None
        item = dict(row)
        item["confidential"] = bool(item["confidential"])
        return item

    def events(self, request_id: int) -> list[dict]:
        rows = self.db.execute("SELECT * FROM request_events WHERE request_id = ? ORDER BY id", (request_id,))
        return [dict(r) for r in rows]

    def recent_events(self, limit: int = 50) -> list[dict]:
        rows = self.db.execute("SELECT * FROM request_events ORDER BY id DESC LIMIT ?", (limit,))
        return [dict(r) for r in rows]

    def set_status(self, request_id: int, actor: str, status: str, message: str, dataset: str,
                   *, answer: bool, now: float | None = None) -> None:
        """Record a status change (or a note, when *status* is unchanged) as a timeline entry."""
        now = now or time.time()
        with self.transaction() as db:
            db.execute("UPDATE requests SET status = ?, updated = ?,"
                       " answer_dataset = CASE WHEN ? != '' THEN ? ELSE answer_dataset END,"
                       " first_answer = CASE WHEN ? AND first_answer IS NULL THEN ? ELSE first_answer END"
                       " WHERE id = ?", (status, now, dataset, dataset, int(answer), now, request_id))
            db.execute("INSERT INTO request_events (request_id, at, actor, kind, status, message, dataset)"
                       " VALUES (?,?,?,?,?,?,?)",
                       (request_id, now, actor, "answer" if answer else "note", status, message, dataset))

    # -- supporters -----------------------------------------------------------------------------
    def support(self, request_id: int, person: str) -> int:
        with self.transaction() as db:
            db.execute("INSERT OR IGNORE INTO request_supporters VALUES (?,?,?)", (request_id, person, time.time()))
            return self._count(request_id)

    def withdraw(self, request_id: int, person: str) -> int:
        with self.transaction() as db:
            db.execute("DELETE FROM request_supporters WHERE request_id = ? AND person = ?", (request_id, person))
            return self._count(request_id)

    def _count(self, request_id: int) -> int:
        (n,) = self.db.execute("SELECT COUNT(*) FROM request_supporters WHERE request_id = ?",
                               (request_id,)).fetchone()
        return n

    def supporters(self, request_id: int) -> list[str]:
        return [r[0] for r in self.db.execute(
            "SELECT person FROM request_supporters WHERE request_id = ? ORDER BY at", (request_id,))]

    def supports(self, request_id: int, person: str) -> bool:
        return self.db.execute("SELECT 1 FROM request_supporters WHERE request_id = ? AND person = ?",
                               (request_id, person)).fetchone() is not None

    def open_request_by(self, author: str, kind: str, dataset: str) -> dict | None:
        """The newest request of *author* of *kind* about *dataset* that has no final answer yet."""
        row = self.db.execute(
            "SELECT id FROM requests WHERE author = ? AND kind = ? AND dataset = ? AND status IN"
            " ('open', 'in-progress', 'scheduled') ORDER BY id DESC LIMIT 1", (author, kind, dataset)).fetchone()
        return self.get(row[0]) if row else None

    # -- updates (notifications) ----------------------------------------------------------------
    def add_updates(self, people, kind: str, subject: str, text: str, link: str) -> None:
        now = time.time()
        with self.transaction() as db:
            db.executemany("INSERT INTO updates (person, at, kind, subject, text, link) VALUES (?,?,?,?,?,?)",
                           [(p, now, kind, subject, text, link) for p in sorted(set(people))])

    def updates_for(self, person: str, limit: int = 100) -> list[dict]:
        rows = self.db.execute("SELECT * FROM updates WHERE person = ? ORDER BY id DESC LIMIT ?", (person, limit))
        return [dict(r) for r in rows]

    def mark_seen(self, person: str) -> None:
        with self.transaction() as db:
            db.execute("UPDATE updates SET seen = 1 WHERE person = ? AND seen = 0", (person,))

    def unseen_count(self, person: str) -> int:
        (n,) = self.db.execute("SELECT COUNT(*) FROM updates WHERE person = ? AND seen = 0", (person,)).fetchone()
        return n

    # -- dashboards with a data problem ---------------------------------------------------------
    def mark_problem(self, slug: str, title: str, author: str, datasets: list[str], detail: str,
                     request_ids: list[int]) -> bool:
        """Mark (or keep marked) a dashboard; True when it was not marked before."""
        now = time.time()
        with self.transaction() as db:
            known = db.execute("SELECT since FROM dashboard_problems WHERE slug = ?", (slug,)).fetchone()
            db.execute(
                "INSERT INTO dashboard_problems (slug, title, author, since, checked, datasets, detail, request_ids)"
                " VALUES (?,?,?,?,?,?,?,?) ON CONFLICT(slug) DO UPDATE SET title = excluded.title,"
                " author = excluded.author, checked = excluded.checked, datasets = excluded.datasets,"
                " detail = excluded.detail, request_ids = excluded.request_ids",
                (slug, title, author, now, now, json.dumps(datasets), detail, json.dumps(request_ids)))
        return known is None

    def clear_problem(self, slug: str) -> bool:
        with self.transaction() as db:
            return db.execute("DELETE FROM dashboard_problems WHERE slug = ?", (slug,)).rowcount == 1

    def problems(self) -> list[dict]:
        out = []
        for row in self.db.execute("SELECT * FROM dashboard_problems ORDER BY since"):
            item = dict(row)
            item["datasets"] = json.loads(item["datasets"])
            item["request_ids"] = json.loads(item["request_ids"])
            out.append(item)
        return out
