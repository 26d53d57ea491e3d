"""Challenges, ideas, votes and official responses in the commons' SQLite store.

Every write runs in one ``BEGIN IMMEDIATE`` transaction (:func:`backstage.web.transaction`) and returns
only after the commit is durable. The vote cap is checked and the vote written in the same transaction,
so concurrent votes of one person can never pass the cap.
"""

from __future__ import annotations

import json
import time
from datetime import date

from backstage.web import transaction

IDEA_STATUSES = ("shortlisted", "in-progress", "adopted", "declined")
NEEDS_REASON = ("adopted", "declined")
CHALLENGE_STATUSES = ("open", "judging", "closed")

SCHEMA = """
CREATE TABLE IF NOT EXISTS challenges (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    title TEXT NOT NULL, summary TEXT NOT NULL, datasets TEXT NOT NULL DEFAULT '[]',
    owner TEXT NOT NULL, closes TEXT NOT NULL, votes_per_person INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT 'open', kit TEXT, created REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS ideas (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    challenge_id INTEGER NOT NULL REFERENCES challenges(id),
    title TEXT NOT NULL, summary TEXT NOT NULL, author TEXT NOT NULL, created REAL NOT NULL,
    status TEXT NOT NULL DEFAULT 'proposed', reason TEXT, responder TEXT, responded_at REAL,
    hidden INTEGER NOT NULL DEFAULT 0, hidden_reason TEXT, hidden_by TEXT
);
CREATE INDEX IF NOT EXISTS ideas_challenge ON ideas(challenge_id);
CREATE TABLE IF NOT EXISTS votes (
    idea_id INTEGER NOT NULL REFERENCES ideas(id), challenge_id INTEGER NOT NULL,
    voter TEXT NOT NULL, created REAL NOT NULL, PRIMARY KEY (idea_id, voter)
);
CREATE INDEX IF NOT EXISTS votes_voter ON votes(challenge_id, voter);
CREATE TABLE IF NOT EXISTS responses (
    id INTEGER PRIMARY KEY AUTOINCREMENT, idea_id INTEGER NOT NULL REFERENCES ideas(id),
    status TEXT NOT NULL, reason TEXT NOT NULL DEFAULT '', responder TEXT NOT NULL, at REAL NOT NULL
);
CREATE TABLE IF NOT EXISTS reports (
    id INTEGER PRIMARY KEY AUTOINCREMENT, idea_id INTEGER NOT NULL REFERENCES ideas(id),
    reporter TEXT NOT NULL, reason TEXT NOT NULL, created REAL NOT NULL, closed INTEGER NOT NULL DEFAULT 0
);
"""


class CommonsError(ValueError):
    """A request the commons refuses; ``status`` is the HTTP status that says why (400, 404, 409)."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def init_store(db) -> None:
    db.executescript(SCHEMA)


def _challenge(row) -> dict:
    c = dict(row)
    c["datasets"] = json.loads(c["datasets"])
    c["state"] = challenge_state(c)
    return c


def challenge_state(c: dict, today: date | None = None) -> str:
    """``open`` until its closing date has passed (then ``judging``), unless its owner set another status."""
    today = today or date.today()
    if c["status"] == "open" and date.fromisoformat(c["closes"]) < today:
        return "judging"
    return c["status"]


def create_challenge(db, *, title, summary, datasets, owner, closes, votes_per_person, kit=None) -> int:
    with transaction(db):
        cur = db.execute(
            "INSERT INTO challenges (title, summary, datasets, owner, closes, votes_per_person, kit, created) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            (title, summary, json.dumps(datasets), owner, closes, votes_per_person, kit, time.time()))
        return cur.lastrowid


def get_challenge(db, challenge_id: int) -> dict:
    row = db.execute("SELECT * FROM challenges WHERE id = ?", (challenge_id,)).fetchone()
    if row is None:
        raise CommonsError(f"there is no challenge {challenge_id}", 404)
    return _challenge(row)


def list_challenges(db, *, open_only: bool = False) -> list[dict]:
    rows = [_challenge(r) for r in db.execute("SELECT * FROM challenges ORDER BY created DESC")]
    return [c for c in rows if c["state"] == "open"] if open_only else rows


def set_challenge_status(db, challenge_id: int, status: str) -> None:
    if status not in CHALLENGE_STATUSES:
        raise CommonsError(f"unknown challenge status {status!r}: use one of {', '.join(CHALLENGE_STATUSES)}")
    with transaction(db):
        get_challenge(db, challenge_id)
        db.execute("UPDATE challenges SET status = ? WHERE id = ?", (status, challenge_id))


_IDEA_SELECT = ("SELECT ideas.*, (SELECT COUNT(*) FROM votes WHERE votes.idea_id = ideas.id) AS votes, "
                "challenges.title AS challenge_title FROM ideas JOIN challenges ON challenges.id = ideas.challenge_id ")


def create_idea(db, challenge_id: int, *, title: str, summary: str, author: str) -> int:
    with transaction(db):
        challenge = get_challenge(db, challenge_id)
        if challenge["state"] != "open":
            raise CommonsError(f"the challenge {challenge['title']!r} is {challenge['state']} and takes no new ideas", 409)
        return db.execute("INSERT INTO ideas (challenge_id, title, summary, author, created) VALUES (?, ?, ?, ?, ?)",
                          (challenge_id, title, summary, author, time.time())).lastrowid


def get_idea(db, idea_id: int) -> dict:
    row = db.execute(_IDEA_SELECT + "WHERE ideas.id = ?", (idea_id,)).fetchone()
    if row is None:
        raise CommonsError(f"there is no idea {idea_id}", 404)
    return dict(row)


def list_ideas(db, challenge_id: int, *, include_hidden: bool = False) -> list[dict]:
    rows = db.execute(_IDEA_SELECT + "WHERE ideas.challenge_id = ? ORDER BY votes DESC, ideas.created",
                      (challenge_id,))
    return [dict(r) for r in rows if include_hidden or not r["hidden"]]


def recent_ideas(db, limit: int = 10) -> list[dict]:
    rows = db.execute(_IDEA_SELECT + "WHERE ideas.hidden = 0 ORDER BY ideas.created DESC LIMIT ?", (limit,))
    return [dict(r) for r in rows]


def votes_left(db, challenge: dict, voter: str) -> int:
    used = db.execute("SELECT COUNT(*) FROM votes WHERE challenge_id = ? AND voter = ?",
                      (challenge["id"], voter)).fetchone()[0]
    return max(0, challenge["votes_per_person"] - used)


def my_votes(db, challenge_id: int, voter: str) -> set[int]:
    return {r[0] for r in db.execute("SELECT idea_id FROM votes WHERE challenge_id = ? AND voter = ?",
                                     (challenge_id, voter))}


def vote(db, idea_id: int, voter: str, *, withdraw: bool = False) -> dict:
    """Cast (or withdraw) *voter*'s vote on an idea; the cap is checked inside the same transaction.

    Returns ``{"votes": <the idea's votes>, "votes_left": <the voter's votes left in the challenge>}``.
    Repeating a vote (or a withdrawal) changes nothing.
    """
    with transaction(db):
        idea = get_idea(db, idea_id)
        challenge = get_challenge(db, idea["challenge_id"])
        if idea["hidden"]:
            raise CommonsError("this idea was hidden by the moderators: it takes no votes", 409)
        if challenge["state"] != "open":
            raise CommonsError(f"voting on {challenge['title']!r} has closed ({challenge['state']})", 409)
        has = db.execute("SELECT 1 FROM votes WHERE idea_id = ? AND voter = ?", (idea_id, voter)).fetchone()
        if withdraw and has:
            db.execute("DELETE FROM votes WHERE idea_id = ? AND voter = ?", (idea_id, voter))
        elif not withdraw and not has:
            if votes_left(db, challenge, voter) <= 0:
                raise CommonsError(
                    f"you have used all {challenge['votes_per_person']} of your votes in this challenge: "
                    "withdraw one to vote for this idea", 409)
            db.execute("INSERT INTO votes (idea_id, challenge_id, voter, created) VALUES (?, ?, ?, ?)",
                       (idea_id, challenge["id"], voter, time.time()))
        votes = db.execute("SELECT COUNT(*) FROM votes WHERE idea_id = ?", (idea_id,)).fetchone()[0]
        return {"votes": votes, "votes_left": votes_left(db, challenge, voter)}


def respond(db, idea_id: int, *, status: str, reason: str, responder: str) -> dict:
    """An official response: the idea's new status, with a public reason (required to adopt or decline)."""
    if status not in IDEA_STATUSES:
        raise CommonsError(f"unknown status {status!r}: use one of {', '.join(IDEA_STATUSES)}")
    reason = (reason or "").strip()
    if status in NEEDS_REASON and not reason:
        raise CommonsError(f"give a reason to mark an idea {status}: it is shown publicly with your name")
    now = time.time()
    with transaction(db):
        get_idea(db, idea_id)
        db.execute("UPDATE ideas SET status = ?, reason = ?, responder = ?, responded_at = ? WHERE id = ?",
                   (status, reason, responder, now, idea_id))
        db.execute("INSERT INTO responses (idea_id, status, reason, responder, at) VALUES (?, ?, ?, ?, ?)",
                   (idea_id, status, reason, responder, now))
    return get_idea(db, idea_id)


def responses(db, challenge_id: int) -> list[dict]:
    rows = db.execute("SELECT responses.*, ideas.title AS idea_title FROM responses JOIN ideas ON ideas.id = "
                      "responses.idea_id WHERE ideas.challenge_id = ? AND ideas.hidden = 0 ORDER BY at DESC",
                      (challenge_id,))
    return [dict(r) for r in rows]


def report(db, idea_id: int, reporter: str, reason: str) -> int:
    with transaction(db):
        get_idea(db, idea_id)
        return db.execute("INSERT INTO reports (idea_id, reporter, reason, created) VALUES (?, ?, ?, ?)",
                          (idea_id, reporter, reason, time.time())).lastrowid


def open_reports(db) -> list[dict]:
    rows = db.execute("SELECT reports.*, ideas.title AS idea_title, ideas.hidden FROM reports JOIN ideas ON "
                      "ideas.id = reports.idea_id WHERE reports.closed = 0 ORDER BY reports.created")
    return [dict(r) for r in rows]


def hide(db, idea_id: int, *, reason: str, moderator: str, hidden: bool = True) -> None:
    reason = (reason or "").strip()
    if hidden and not reason:
        raise CommonsError("give a reason to hide an idea: its author is told why")
    with transaction(db):
        get_idea(db, idea_id)
        db.execute("UPDATE ideas SET hidden = ?, hidden_reason = ?, hidden_by = ? WHERE id = ?",
                   (int(hidden), reason if hidden else None, moderator, idea_id))
        db.execute("UPDATE reports SET closed = 1 WHERE idea_id = ?", (idea_id,))
