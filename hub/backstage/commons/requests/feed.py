"""An Atom feed of public data requests and their answers (``requests/feed.atom``), newest first.

Built with ElementTree, so every title and message is escaped XML text; confidential requests never
appear in it.
"""

from __future__ import annotations

from datetime import UTC, datetime
from xml.etree import ElementTree as ET  # noqa: S405 (we write XML, never parse it)

from ..base import CommonsPageHandler
from .api import RequestsMixin
from .rules import KINDS, STATUSES

ATOM = "http://www.w3.org/2005/Atom"


def _iso(ts: float) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def build_feed(desk, site: str, limit: int = 100) -> bytes:
    """The feed's XML: one entry per filing and per answer of a public request."""
    ET.register_namespace("", ATOM)
    feed = ET.Element(f"{{{ATOM}}}feed")
    base = site.rstrip("/")
    ET.SubElement(feed, f"{{{ATOM}}}title").text = "Government Backstage: data requests and answers"
    ET.SubElement(feed, f"{{{ATOM}}}id").text = f"{base}{desk.prefix}requests"
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="self", href=f"{base}{desk.prefix}requests/feed.atom")
    ET.SubElement(feed, f"{{{ATOM}}}link", rel="alternate", href=f"{base}{desk.prefix}requests")
    requests = {i["id"]: i for i in desk.store.all() if not i["confidential"]}
    events = [e for e in desk.store.recent_events(limit * 4) if e["request_id"] in requests][:limit]
    ET.SubElement(feed, f"{{{ATOM}}}updated").text = _iso(events[0]["at"] if events else 0)
    for event in events:
        item = requests[event["request_id"]]
        entry = ET.SubElement(feed, f"{{{ATOM}}}entry")
        if event["kind"] == "filed":
            title = f"New request {item['id']}: {item['title']}"
            summary = f"{KINDS[item['kind']]}. {item['body']}"
        else:
            title = f"Request {item['id']} {STATUSES.get(event['status'], event['status'])}: {item['title']}"
            summary = event["message"] or STATUSES.get(event["status"], "")
            if event["dataset"]:
                summary += f" Dataset: {event['dataset']}."
        ET.SubElement(entry, f"{{{ATOM}}}title").text = title
        ET.SubElement(entry, f"{{{ATOM}}}id").text = f"{base}{desk.link(item['id'])}#event-{event['id']}"
        ET.SubElement(entry, f"{{{ATOM}}}link", href=f"{base}{desk.link(item['id'])}")
        ET.SubElement(entry, f"{{{ATOM}}}updated").text = _iso(event["at"])
        author = ET.SubElement(entry, f"{{{ATOM}}}author")
        ET.SubElement(author, f"{{{ATOM}}}name").text = event["actor"]
        ET.SubElement(entry, f"{{{ATOM}}}summary").text = summary
    return ('<?xml version="1.0" encoding="utf-8"?>\n' + ET.tostring(feed, encoding="unicode")).encode()


class FeedHandler(RequestsMixin, CommonsPageHandler):
    def get(self):
        self.set_header("Content-Type", "application/atom+xml; charset=utf-8")
        self.finish(build_feed(self.desk, self.desk.notifier.site_url))
