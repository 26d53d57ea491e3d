"""Atom feeds: every challenge, and each challenge's ideas and official responses."""

from __future__ import annotations

from datetime import UTC, datetime
from xml.sax.saxutils import escape

from . import store
from .base import CommonsPageHandler


def _when(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).isoformat(timespec="seconds")


def atom(feed_id: str, title: str, link: str, entries: list[dict]) -> str:
    """An Atom document; *entries* have ``id``, ``title``, ``link``, ``updated`` (Unix time), ``summary``, ``author``."""
    updated = max((e["updated"] for e in entries), default=0)
    parts = ['<?xml version="1.0" encoding="utf-8"?>', '<feed xmlns="http://www.w3.org/2005/Atom">',
             f"<id>{escape(feed_id)}</id><title>{escape(title)}</title>",
             f'<link rel="alternate" href="{escape(link, {chr(34): "&quot;"})}"/><updated>{_when(updated)}</updated>']
    for e in entries:
        parts.append(
            f"<entry><id>{escape(e['id'])}</id><title>{escape(e['title'])}</title>"
            f'<link rel="alternate" href="{escape(e["link"], {chr(34): "&quot;"})}"/><updated>{_when(e["updated"])}</updated>'
            f"<author><name>{escape(e['author'])}</name></author><summary>{escape(e['summary'])}</summary></entry>")
    parts.append("</feed>")
    return "\n".join(parts)


class FeedHandler(CommonsPageHandler):
    def finish_atom(self, xml: str):
        self.set_header("Content-Type", "application/atom+xml; charset=utf-8")
        self.finish(xml)

    def base(self) -> str:
        return f"{self.request.protocol}://{self.request.host}{self.commons.prefix}"


class ChallengesFeed(FeedHandler):
    def get(self):
        base = self.base()
        entries = [{"id": f"{base}challenges/{c['id']}", "title": f"Challenge: {c['title']}",
                    "link": f"{base}challenges/{c['id']}", "updated": c["created"], "author": c["owner"],
                    "summary": f"{c['summary']}\n\nCloses {c['closes']}."} for c in store.list_challenges(self.db)]
        self.finish_atom(atom(f"{base}challenges", "Challenges in the commons", f"{base}challenges", entries))


class ChallengeFeed(FeedHandler):
    def get(self, challenge_id):
        challenge = store.get_challenge(self.db, int(challenge_id))
        base = self.base()
        entries = [{"id": f"{base}ideas/{i['id']}", "title": f"Idea: {i['title']}", "link": f"{base}ideas/{i['id']}",
                    "updated": i["created"], "author": i["author"], "summary": i["summary"]}
                   for i in store.list_ideas(self.db, challenge["id"])]
        entries += [{"id": f"{base}ideas/{r['idea_id']}#response-{r['id']}",
                     "title": f"{r['status'].capitalize()}: {r['idea_title']}", "link": f"{base}ideas/{r['idea_id']}",
                     "updated": r["at"], "author": r["responder"], "summary": r["reason"] or r["status"]}
                    for r in store.responses(self.db, challenge["id"])]
        entries.sort(key=lambda e: e["updated"], reverse=True)
        self.finish_atom(atom(f"{base}challenges/{challenge['id']}/feed", f"Ideas and responses: {challenge['title']}",
                              f"{base}challenges/{challenge['id']}", entries))


def init_store(db) -> None:
    """Feeds read the challenges' tables."""


def routes(prefix: str) -> list[tuple]:
    return [(prefix + "challenges.atom", ChallengesFeed), (prefix + r"challenges/(\d{1,12})/feed\.atom", ChallengeFeed)]
