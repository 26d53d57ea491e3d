"""Who is who at the OpenID provider: its ``sub`` is the person's key, the lab's name is derived once.

One SQLite file in the state folder (mode 0600): ``sub`` (the provider's stable, opaque id) → the
hub username given at the first sign-in, the latest e-mail address, and the latest ID token (for
the provider's logout). An e-mail address is never a key: people change it, and a provider may give
one address to two accounts over time. The username is derived from the e-mail's local part, made
safe (:func:`backstage.usernames.validate_username`) and never one already in use.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
import unicodedata
from collections.abc import Callable
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from backstage.usernames import MAX_LENGTH, validate_username

__all__ = ["OIDCPeople", "OIDCPerson", "derive_username"]

_STEM_LENGTH = MAX_LENGTH - 5  # room for "-9999"


@dataclass(frozen=True)
class OIDCPerson:
    sub: str
    username: str
    email: str
    created: float


def _stem(email: str) -> str:
    local = unicodedata.normalize("NFKD", (email or "").partition("@")[0].lower()).encode("ascii", "ignore").decode()
    stem = re.sub(r"[^a-z0-9]+", "-", local).strip("-")[:_STEM_LENGTH].strip("-")
    if not stem:
        return "person"
    return stem if stem[0].isalpha() else f"p-{stem}"[:_STEM_LENGTH]


def derive_username(email: str, taken: Callable[[str], bool]) -> str:
    """A safe username from ``email`` that ``taken`` says is free: ``ada``, else ``ada-2``, ``ada-3``...

    Examples
    --------
    >>> derive_username("Ada.Lovelace@example.org", lambda name: False)
    'ada-lovelace'
    >>> derive_username("admin@example.org", lambda name: name in {"admin", "admin-2"})
    'admin-3'
    >>> derive_username("1999@example.org", lambda name: False)
    'p-1999'
    """
    stem = _stem(email)
    for n in range(1, 10000):
        name = validate_username(stem if n == 1 else f"{stem}-{n}")
        if not taken(name):
            return name
    raise ValueError(f"no free username left for {stem!r}: remove unused accounts")


class OIDCPeople:
    """The ``sub`` → username table in SQLite at ``path`` (created mode 0600)."""

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600))
        os.chmod(self.path, 0o600)
        with closing(self._connect()) as db, db:
            db.execute("CREATE TABLE IF NOT EXISTS people (sub TEXT PRIMARY KEY, username TEXT NOT NULL UNIQUE,"
                       " email TEXT NOT NULL DEFAULT '', id_token TEXT NOT NULL DEFAULT '', created REAL NOT NULL)")

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10, isolation_level="IMMEDIATE")

    def find(self, sub: str) -> OIDCPerson | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT sub, username, email, created FROM people WHERE sub = ?", (sub,)).fetchone()
        return OIDCPerson(*row) if row else None

    def by_username(self, username: str) -> OIDCPerson | None:
        with closing(self._connect()) as db:
            row = db.execute("SELECT sub, username, email, created FROM people WHERE username = ?",
                             (username,)).fetchone()
        return OIDCPerson(*row) if row else None

    def person_for(self, sub: str, email: str, taken: Callable[[str], bool]) -> tuple[OIDCPerson, bool]:
        """The person with ``sub`` (their e-mail brought up to date), or a new one; ``(person, is_new)``.

        ``taken(name)`` says whether a name is used elsewhere (the hub, the sign-up store, the
        admins); names in this table are always taken.
        """
        with closing(self._connect()) as db, db:
            row = db.execute("SELECT username FROM people WHERE sub = ?", (sub,)).fetchone()
            if row is not None:
                db.execute("UPDATE people SET email = ? WHERE sub = ?", (email, sub))
                is_new = False
            else:
                def used(name):
                    return taken(name) or db.execute("SELECT 1 FROM people WHERE username = ?",
                                                     (name,)).fetchone() is not None

                db.execute("INSERT INTO people (sub, username, email, created) VALUES (?, ?, ?, ?)",
                           (sub, derive_username(email, used), email, time.time()))
                is_new = True
        return self.find(sub), is_new

    def remember_id_token(self, sub: str, id_token: str) -> None:
        """Keep the latest ID token of ``sub``: the provider's logout takes it as ``id_token_hint``."""
        with closing(self._connect()) as db, db:
            db.execute("UPDATE people SET id_token = ? WHERE sub = ?", (id_token, sub))

    def id_token(self, username: str) -> str:
        """The latest ID token of ``username`` ("" for none)."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT id_token FROM people WHERE username = ?", (username,)).fetchone()
        return row[0] if row else ""
