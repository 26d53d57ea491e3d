"""The gallery's durable state: a SQLite (WAL) database plus immutable snapshot files.

A submission is acknowledged only after its notebook file and its database row are both on disk
(fsync'd), so an acknowledged submission survives a ``kill -9`` of the service. Snapshot files are
written once and made read-only; a resubmission is a new version with a new snapshot.
"""

from __future__ import annotations

import json
import logging
import os
import re
import shutil
import sqlite3
import time
import uuid
from pathlib import Path

from traitlets import Unicode, default
from traitlets.config import LoggingConfigurable

from backstage.paths import state_dir as lab_state_dir
from backstage.web import connect, fsync_dir, transaction, write_durably

log = logging.getLogger(__name__)

#: ``write_durably`` is backstage.web's; the checks import it from here
__all__ = ["STATUSES", "Store", "StoreError", "check_slug", "slugify", "write_durably"]

STATUSES = ("checking", "checks-failed", "awaiting-review", "published", "rejected", "unpublished", "superseded")
RESERVED_SLUGS = {"voila", "api", "static", "new"}
_SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
_ID_RE = re.compile(r"^[0-9a-f]{32}$")

_SCHEMA = """
CREATE TABLE IF NOT EXISTS submissions (
    id TEXT PRIMARY KEY,
    author TEXT NOT NULL,
    title TEXT NOT NULL,
    summary TEXT NOT NULL,
    topics TEXT NOT NULL DEFAULT '[]',
    slug TEXT NOT NULL,
    version INTEGER NOT NULL,
    status TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    created REAL NOT NULL,
    updated REAL NOT NULL,
    checks TEXT NOT NULL DEFAULT '{}',
    datasets TEXT NOT NULL DEFAULT '[]',
    comments TEXT NOT NULL DEFAULT '[]',
    published_at REAL,
    idea TEXT
);
CREATE INDEX IF NOT EXISTS submissions_slug ON submissions(slug, version);
CREATE INDEX IF NOT EXISTS submissions_author ON submissions(author);
CREATE TABLE IF NOT EXISTS visibility_changes (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    submission_id TEXT NOT NULL,
    public INTEGER NOT NULL,
    changed_by TEXT NOT NULL,
    changed_at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS remixes (
    slug TEXT NOT NULL,
    version INTEGER NOT NULL,
    person TEXT NOT NULL,
    at REAL NOT NULL,
    PRIMARY KEY (slug, version, person)
);
"""
#: Who may see a published dashboard (issue 14): added to stores made before it; default not public.
_PUBLIC_COLUMNS = {"public": "INTEGER NOT NULL DEFAULT 0", "public_by": "TEXT", "public_at": "REAL"}


class StoreError(ValueError):
    """A request the store refuses (unknown id, bad slug, wrong state)."""


def slugify(title: str) -> str:
    """Turn a title into a URL-safe slug (lower-case letters, digits and hyphens only).

    Examples
    --------
    >>> slugify("Bus stops in Leeds: 2024!")
    'bus-stops-in-leeds-2024'
    """
    slug = re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")[:50].strip("-")
    return slug or "dashboard"


def check_slug(slug: str) -> str:
    """Return *slug* if it is a safe published name, else raise `StoreError` saying why."""
    if not isinstance(slug, str) or not _SLUG_RE.match(slug) or slug in RESERVED_SLUGS:
        raise StoreError(
            f"{slug!r} is not a valid dashboard name: use 1-63 lower-case letters, digits and hyphens"
        )
    return slug


class Store(LoggingConfigurable):
    """Submissions, their versions and their snapshot files, under one state folder."""

    state_dir = Unicode(
        help="""Folder for the gallery's database and snapshots (created 0700).
        Default: $BACKSTAGE_STATE/gallery, else .backstage/gallery.
        Example: --Store.state_dir=/srv/backstage/gallery""",
    ).tag(config=True)

    @default("state_dir")
    def _default_state_dir(self):
        return str(lab_state_dir() / "gallery")

    def __init__(self, **kwargs):
        super().__init__(**kwargs)
        self.root = Path(self.state_dir)
        self.root.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.root, 0o700)
        self.snapshots = self.root / "snapshots"
        self.published = self.root / "published"
        for folder in (self.snapshots, self.published):
            folder.mkdir(exist_ok=True, mode=0o700)
        self.db = connect(self.root / "gallery.sqlite")
        self.db.executescript(_SCHEMA)
        columns = {row["name"] for row in self.db.execute("PRAGMA table_info(submissions)")}
        if "idea" not in columns:  # a store made before ideas were linked
            self.db.execute("ALTER TABLE submissions ADD COLUMN idea TEXT")
        for name, kind in _PUBLIC_COLUMNS.items():  # a store made before dashboards could be public
            if name not in columns:
                self.db.execute(f"ALTER TABLE submissions ADD COLUMN {name} {kind}")
        if "based_on" not in columns:  # a store made before remixes (gallery/remix.py)
            self.db.execute("ALTER TABLE submissions ADD COLUMN based_on TEXT")

    def close(self) -> None:
        self.db.close()

    # -- reading -------------------------------------------------------------------------------
    def _row(self, row: sqlite3.Row | None) -> dict | None:
        if row is None:
            return None
        item = dict(row)
        for key in ("topics", "checks", "datasets", "comments"):
            item[key] = json.loads(item[key])
        item["idea"] = json.loads(item["idea"]) if item.get("idea") else None
        item["public"] = bool(item.get("public"))
        item["based_on"] = json.loads(item["based_on"]) if item.get("based_on") else None
        item["remixes"] = self.remix_count(item["slug"])
        return item

    def get(self, submission_id: str) -> dict:
        """Return the submission *submission_id*, or raise `StoreError` (404-worthy)."""
        if not isinstance(submission_id, str) or not _ID_RE.match(submission_id):
            raise StoreError(f"{submission_id!r} is not a submission id (32 hexadecimal digits)")
        item = self._row(self.db.execute("SELECT * FROM submissions WHERE id=?", (submission_id,)).fetchone())
        if item is None:
            raise StoreError(f"no submission {submission_id!r}: check the id in 'My submissions'")
        return item

    def query(self, *, author: str | None = None, status: str | None = None) -> list[dict]:
        sql, args = "SELECT * FROM submissions WHERE 1=1", []
        if author is not None:
            sql += " AND author=?"
            args.append(author)
        if status is not None:
            sql += " AND status=?"
            args.append(status)
        sql += " ORDER BY created DESC"
        return [self._row(r) for r in self.db.execute(sql, args)]

    def published_items(self, *, public_only: bool = False) -> list[dict]:
        """The currently published version of every dashboard, newest first (only the public ones if asked)."""
        items = self.query(status="published")
        return [i for i in items if i["public"]] if public_only else items

    def published_for(self, slug: str) -> dict | None:
        row = self.db.execute(
            "SELECT * FROM submissions WHERE slug=? AND status='published'", (slug,)
        ).fetchone()
        return self._row(row)

    def version_for(self, slug: str, version: int) -> dict | None:
        """Version *version* of dashboard *slug*, whatever its status (None if there is none)."""
        row = self.db.execute("SELECT * FROM submissions WHERE slug=? AND version=?", (slug, version)).fetchone()
        return self._row(row)

    def remix_count(self, slug: str) -> int:
        """How many people copied a version of *slug* into their lab (each counts once)."""
        (count,) = self.db.execute("SELECT COUNT(DISTINCT person) FROM remixes WHERE slug=?", (slug,)).fetchone()
        return count

    def record_remix(self, slug: str, version: int, person: str) -> None:
        """*person* copied version *version* of *slug* into their lab (again: no change)."""
        with transaction(self.db):
            self.db.execute("INSERT OR IGNORE INTO remixes (slug, version, person, at) VALUES (?,?,?,?)",
                            (slug, version, person, time.time()))

    def path(self, submission_id: str, name: str) -> Path:
        """Path of snapshot file *name* (``submitted.ipynb``, ``executed.ipynb``, ``thumbnail.png``...)."""
        self.get(submission_id)
        return self.snapshots / submission_id / name

    # -- writing -------------------------------------------------------------------------------
    def _slug_for(self, author: str, title: str) -> tuple[str, int]:
        base = slugify(title)
        if base in RESERVED_SLUGS:
            base = f"{base}-dashboard"
        slug = base
        owner = self.db.execute("SELECT author FROM submissions WHERE slug=? LIMIT 1", (slug,)).fetchone()
        if owner is not None and owner["author"] != author:
            slug = f"{base}-{slugify(author)}"[:63].strip("-")
        (latest,) = self.db.execute(
            "SELECT COALESCE(MAX(version), 0) FROM submissions WHERE slug=?", (slug,)
        ).fetchone()
        return check_slug(slug), latest + 1

    def add(self, *, author: str, title: str, summary: str, topics: list[str], notebook: bytes, sha256: str,
            idea: int | str | None = None, based_on: dict | None = None) -> dict:
        """Store a new submission durably (file first, then the row) and return it.

        *notebook* is what the checks run and a reviewer may publish; *idea* the commons idea it answers;
        *based_on* the approved dashboard version it is a remix of (``gallery/remix.py``).
        """
        submission_id = uuid.uuid4().hex
        write_durably(self.snapshots / submission_id / "submitted.ipynb", notebook)
        now = time.time()
        try:
            with transaction(self.db):
                slug, version = self._slug_for(author, title)
                self.db.execute(
                    "INSERT INTO submissions (id, author, title, summary, topics, slug, version, status, sha256,"
                    " created, updated, idea) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    (submission_id, author, title, summary, json.dumps(topics), slug, version, "checking",
                     sha256, now, now, None if idea is None else json.dumps(idea)),
                )
                if based_on is not None:
                    self.db.execute("UPDATE submissions SET based_on=? WHERE id=?", (json.dumps(based_on), submission_id))
        except BaseException:
            shutil.rmtree(self.snapshots / submission_id, ignore_errors=True)
            raise
        log.info("stored submission %s (%s v%d) by %s", submission_id, slug, version, author)
        return self.get(submission_id)

    def update(self, submission_id: str, **fields) -> dict:
        self.get(submission_id)
        for key in ("topics", "checks", "datasets", "comments"):
            if key in fields:
                fields[key] = json.dumps(fields[key])
        fields["updated"] = time.time()
        assignments = ", ".join(f"{k}=?" for k in fields)
        self.db.execute(f"UPDATE submissions SET {assignments} WHERE id=?", (*fields.values(), submission_id))  # noqa: S608
        return self.get(submission_id)

    def add_comment(self, submission_id: str, reviewer: str, text: str, action: str) -> dict:
        item = self.get(submission_id)
        comments = item["comments"] + [{"reviewer": reviewer, "text": text, "action": action, "at": time.time()}]
        return self.update(submission_id, comments=comments)

    def publish(self, submission_id: str, reviewer: str, comment: str = "", *, public: bool = False) -> dict:
        """Publish *submission_id*: its snapshot becomes ``published/<slug>.ipynb``; older versions are superseded.

        *public*: anyone may open it, signed in or not (the reviewer's choice, recorded with who and when).
        """
        item = self.get(submission_id)
        if not isinstance(public, bool):
            raise StoreError(f"'public' must be true or false, not {public!r}")
        if item["status"] not in ("awaiting-review", "unpublished", "rejected"):
            raise StoreError(
                f"submission {submission_id} is {item['status']!r}: only a checked submission can be approved"
            )
        source = self.snapshots / submission_id / "submitted.ipynb"
        write_durably(self.published / f"{item['slug']}.ipynb", source.read_bytes(), mode=0o400)
        with transaction(self.db):
            self.db.execute(
                "UPDATE submissions SET status='superseded', updated=? WHERE slug=? AND status='published'",
                (time.time(), item["slug"]),
            )
            self.db.execute(
                "UPDATE submissions SET status='published', published_at=?, updated=? WHERE id=?",
                (time.time(), time.time(), submission_id),
            )
            self._record_visibility(submission_id, public, reviewer)
        return self.add_comment(submission_id, reviewer, comment or "Approved", "approve")

    def _record_visibility(self, submission_id: str, public: bool, reviewer: str) -> None:
        """Set who may see *submission_id* and log the change (inside the caller's transaction)."""
        if not isinstance(public, bool):
            raise StoreError(f"'public' must be true or false, not {public!r}")
        now = time.time()
        self.db.execute("UPDATE submissions SET public=?, public_by=?, public_at=? WHERE id=?",
                        (int(public), reviewer, now, submission_id))
        self.db.execute("INSERT INTO visibility_changes (submission_id, public, changed_by, changed_at)"
                        " VALUES (?,?,?,?)", (submission_id, int(public), reviewer, now))

    def set_public(self, slug_or_submission: str, value: bool, reviewer: str) -> dict:
        """Make a published dashboard (by slug or submission id) public or not; recorded with who and when."""
        if isinstance(slug_or_submission, str) and _ID_RE.match(slug_or_submission):
            item = self.get(slug_or_submission)
        else:
            item = self.published_for(check_slug(slug_or_submission))
            if item is None:
                raise StoreError(f"no published dashboard called {slug_or_submission!r}: pick one from the gallery")
        if item["status"] != "published":
            raise StoreError(f"submission {item['id']} is {item['status']!r}: only a published dashboard can be "
                             "made public or not (approve it first)")
        with transaction(self.db):
            self._record_visibility(item["id"], value, reviewer)
        log.info("%s made %s (v%d) %s", reviewer, item["slug"], item["version"],
                 "public" if value else "signed-in only")
        return self.get(item["id"])

    def visibility_changes(self, submission_id: str) -> list[dict]:
        """Who set *submission_id* public or not, and when, oldest first."""
        rows = self.db.execute("SELECT public, changed_by, changed_at FROM visibility_changes WHERE submission_id=?"
                               " ORDER BY id", (submission_id,))
        return [{"public": bool(r["public"]), "by": r["changed_by"], "at": r["changed_at"]} for r in rows]

    def unpublish(self, submission_id: str, reviewer: str, reason: str) -> dict:
        item = self.get(submission_id)
        if item["status"] != "published":
            raise StoreError(f"submission {submission_id} is {item['status']!r}, not published")
        target = self.published / f"{item['slug']}.ipynb"
        target.unlink(missing_ok=True)
        fsync_dir(self.published)
        self.update(submission_id, status="unpublished")
        return self.add_comment(submission_id, reviewer, reason, "unpublish")

    def reject(self, submission_id: str, reviewer: str, reason: str) -> dict:
        item = self.get(submission_id)
        if item["status"] not in ("awaiting-review", "checks-failed", "checking"):
            raise StoreError(f"submission {submission_id} is {item['status']!r}: it cannot be rejected now")
        self.update(submission_id, status="rejected")
        return self.add_comment(submission_id, reviewer, reason, "reject")
