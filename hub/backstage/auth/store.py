"""The sign-up store: people who signed up, their hashed passwords and whether they are approved.

One SQLite file in the state folder (mode 0600). Passwords are hashed with salted ``scrypt`` and
compared in constant time; the store never holds or logs a password in clear.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

__all__ = ["DuplicateSignup", "MAX_PASSWORD_LENGTH", "PendingSignup", "Person", "SignupStore", "hash_password",
           "verify_password"]

_N, _R, _P = 2**14, 8, 1

# Longer passwords are refused before any hashing (a 10 MB password would otherwise cost a full scrypt
# over 10 MB); 1024 characters leave room for any passphrase or password manager.
MAX_PASSWORD_LENGTH = 1024


def hash_password(password: str) -> str:
    """Hash ``password`` with a fresh random salt: ``scrypt$n$r$p$salt$hash`` (hex)."""
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_N, r=_R, p=_P, dklen=32)
    return f"scrypt${_N}${_R}${_P}${salt.hex()}${digest.hex()}"


def verify_password(password: str, stored: str) -> bool:
    """True when ``password`` matches the ``stored`` hash (constant-time comparison)."""
    try:
        kind, n, r, p, salt, digest = stored.split("$")
        if kind != "scrypt":
            return False
        got = hashlib.scrypt(password.encode(), salt=bytes.fromhex(salt), n=int(n), r=int(r), p=int(p),
                             dklen=len(digest) // 2)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got.hex(), digest)


# What an unknown name is checked against, so that it costs the same single scrypt as a known one.
_UNKNOWN = hash_password("no such person")


class DuplicateSignup(ValueError):
    """Someone already signed up with that name."""


class PendingSignup(ValueError):
    """Names with a sign-up that nobody approved yet (``.usernames``): enrolling them would hand the
    enrolled account to whoever typed the name at the sign-up page."""

    def __init__(self, usernames: list[str]):
        self.usernames = usernames
        super().__init__(f"{', '.join(map(repr, usernames))} signed up and wait for approval")


@dataclass(frozen=True)
class Person:
    """A row of the store (without the password hash)."""

    username: str
    name: str
    email: str
    approved: bool
    created: float


class SignupStore:
    """The sign-up store in SQLite at ``path`` (created mode 0600 with its folder).

    Parameters
    ----------
    path : str or Path
        The SQLite file, e.g. ``<state>/signups.sqlite``.
    """

    def __init__(self, path: str | os.PathLike):
        self.path = Path(path)
        if not self.path.exists():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd = os.open(self.path, os.O_CREAT | os.O_WRONLY, 0o600)
            os.close(fd)
        os.chmod(self.path, 0o600)
        with closing(self._connect()) as db, db:
            db.execute(
                "CREATE TABLE IF NOT EXISTS people (username TEXT PRIMARY KEY, password TEXT NOT NULL,"
                " name TEXT NOT NULL DEFAULT '', email TEXT NOT NULL DEFAULT '',"
                " approved INTEGER NOT NULL DEFAULT 0, created REAL NOT NULL)"
            )

    def _connect(self) -> sqlite3.Connection:
        return sqlite3.connect(self.path, timeout=10, isolation_level="IMMEDIATE")

    def add(self, username: str, password: str, *, approved: bool = False, name: str = "", email: str = "") -> None:
        """Add a sign-up; raise :class:`DuplicateSignup` if the name is taken (nothing changes then)."""
        hashed = hash_password(password)
        try:
            with closing(self._connect()) as db, db:
                db.execute("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?)",
                           (username, hashed, name, email, int(approved), time.time()))
        except sqlite3.IntegrityError:
            raise DuplicateSignup(f"the username {username!r} is already taken: choose another") from None

    def set_password(self, username: str, password: str, *, approved: bool = True) -> None:
        """Create or update ``username`` with ``password`` (used for the admin account)."""
        hashed = hash_password(password)
        with closing(self._connect()) as db, db:
            db.execute(
                "INSERT INTO people (username, password, approved, created) VALUES (?, ?, ?, ?)"
                " ON CONFLICT(username) DO UPDATE SET password = excluded.password, approved = excluded.approved",
                (username, hashed, int(approved), time.time()),
            )

    def check(self, username: str, password: str) -> Person | None:
        """The person when ``password`` is theirs (approved or not), else None."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT password FROM people WHERE username = ?", (username,)).fetchone()
        if row is None:
            verify_password(password, _UNKNOWN)  # the same single scrypt as for a known name
            return None
        return self.get(username) if verify_password(password, row[0]) else None

    def get(self, username: str) -> Person | None:
        """The person signed up as ``username``, or None."""
        with closing(self._connect()) as db:
            row = db.execute("SELECT username, name, email, approved, created FROM people WHERE username = ?",
                             (username,)).fetchone()
        return Person(row[0], row[1], row[2], bool(row[3]), row[4]) if row else None

    def people(self, approved: bool | None = None) -> list[Person]:
        """Everyone, or only the approved (True) or the waiting (False), oldest first."""
        sql = "SELECT username, name, email, approved, created FROM people"
        args: tuple = ()
        if approved is not None:
            sql += " WHERE approved = ?"
            args = (int(approved),)
        with closing(self._connect()) as db:
            rows = db.execute(sql + " ORDER BY created", args).fetchall()
        return [Person(r[0], r[1], r[2], bool(r[3]), r[4]) for r in rows]

    def approve(self, username: str) -> bool:
        """Approve a waiting sign-up; False if there is no such sign-up."""
        with closing(self._connect()) as db, db:
            return db.execute("UPDATE people SET approved = 1 WHERE username = ?", (username,)).rowcount == 1

    def remove(self, username: str) -> bool:
        """Remove a sign-up (rejecting it); False if there is no such sign-up."""
        with closing(self._connect()) as db, db:
            return db.execute("DELETE FROM people WHERE username = ?", (username,)).rowcount == 1

    def add_many(self, people: list[tuple[str, str, str]]) -> dict[str, str]:
        """Add approved people ``(username, name, email)`` that are missing, in one transaction.

        People already approved keep their password. A name with a sign-up still waiting for approval
        raises :class:`PendingSignup` and nothing is added: approving it here would give the account to
        whoever typed that name at the sign-up page, with their password.

        Returns
        -------
        dict
            ``{username: fresh password}`` for the people added; existing people keep theirs.
        """
        created = {}
        rows = []
        with closing(self._connect()) as db, db:
            pending = [u for u, _, _ in people
                       if db.execute("SELECT 1 FROM people WHERE username = ? AND approved = 0", (u,)).fetchone()]
            if pending:
                raise PendingSignup(pending)
            for username, name, email in people:
                if db.execute("SELECT 1 FROM people WHERE username = ?", (username,)).fetchone():
                    continue
                password = secrets.token_urlsafe(12)
                rows.append((username, hash_password(password), name, email, 1, time.time()))
                created[username] = password
            db.executemany("INSERT INTO people VALUES (?, ?, ?, ?, ?, ?)", rows)
        return created
