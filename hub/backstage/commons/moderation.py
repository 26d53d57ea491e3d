"""Moderation over the API: anyone signed in reports an idea; organisers hide it with a reason (or show it again)."""

from __future__ import annotations

from tornado import web

from . import store
from .challenges import ChallengeAPIBase, _text


class ReportAPI(ChallengeAPIBase):
    def post(self, idea_id):
        user = self.require_user()
        self.idea(idea_id)
        report_id = store.report(self.db, int(idea_id), user["name"], _text(self.json_body(), "reason", 2000))
        self.write_json({"id": report_id}, 201)


class HideAPI(ChallengeAPIBase):
    def post(self, idea_id):
        user = self.require_user()
        if not self.is_moderator():
            raise web.HTTPError(403, "only organisers may hide or show ideas")
        body = self.json_body()
        hidden = body.get("hidden", True) is not False
        store.hide(self.db, int(idea_id), reason=_text(body, "reason", 2000, required=hidden), moderator=user["name"],
                   hidden=hidden)
        self.write_json({"id": int(idea_id), "hidden": hidden})


class ReportsAPI(ChallengeAPIBase):
    def get(self):
        self.require_user()
        if not self.is_moderator():
            raise web.HTTPError(403, "only organisers see reports")
        self.write_json({"reports": store.open_reports(self.db)})


def init_store(db) -> None:
    """Reports live in the challenges' tables (:mod:`.store`)."""


def routes(prefix: str) -> list[tuple]:
    p = prefix + "api/"
    return [(p + r"ideas/(\d{1,12})/report", ReportAPI), (p + r"ideas/(\d{1,12})/hide", HideAPI),
            (p + "reports", ReportsAPI)]
