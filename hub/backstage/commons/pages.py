"""The commons' pages for challenges and ideas: read by anyone (while public), forms for the signed-in.

Every form posts with its XSRF field and, on a refusal, shows the page again with the message in a
GOV.UK error summary (nothing typed is lost).
"""

from __future__ import annotations

from tornado import web

from . import catalog, lineage, markdown, store
from .base import CommonsPageHandler
from .challenges import may_respond, may_see_idea, validate_challenge, validate_idea
from .store import CommonsError

STATUS_TAGS = {"proposed": "govuk-tag--grey", "shortlisted": "govuk-tag--blue", "in-progress": "govuk-tag--yellow",
               "adopted": "govuk-tag--green", "declined": "govuk-tag--red", "open": "govuk-tag--green",
               "judging": "govuk-tag--yellow", "closed": "govuk-tag--grey"}


class Page(CommonsPageHandler):
    def page_namespace(self) -> dict:
        return {**super().page_namespace(), "markdown": markdown.render, "status_tags": STATUS_TAGS}

    def form(self, *names: str) -> dict:
        return {name: self.get_argument(name, "") for name in names}


class ChallengesPage(Page):
    def get(self):
        self.render_page("challenges.html", challenges=store.list_challenges(self.db))


class NewChallengePage(Page):
    def get(self):
        self.require_scope(self.commons.challenges_scope, "organisers and officials")
        self.render_page("challenge_new.html", form={"votes_per_person": "10"}, error=None, catalog=catalog.catalog_choices())

    def post(self):
        user = self.require_scope(self.commons.challenges_scope, "organisers and officials")
        form = self.form("title", "summary", "datasets", "closes", "votes_per_person", "kit")
        body = {**form, "datasets": [d for d in form["datasets"].replace(",", " ").split() if d]}
        try:
            challenge_id = store.create_challenge(self.db, owner=user["name"], **validate_challenge(body))
        except CommonsError as e:
            return self.render_page("challenge_new.html", status=e.status, form=form, error=str(e),
                                    catalog=catalog.catalog_choices())
        self.redirect(f"{self.commons.prefix}challenges/{challenge_id}")


class ChallengePage(Page):
    async def get(self, challenge_id, *, error=None, status=200, form=None):
        challenge = store.get_challenge(self.db, int(challenge_id))
        ideas = store.list_ideas(self.db, challenge["id"])
        user = self.current_user
        dashboards = await lineage.dashboards_for(self.commons, self.current_user)
        for idea in ideas:
            idea["prototypes"] = lineage.prototypes_for(dashboards, idea["id"])
        self.render_page(
            "challenge.html", status=status, challenge=challenge, ideas=ideas, error=error, form=form or {},
            datasets=catalog.describe(challenge["datasets"]), responses=store.responses(self.db, challenge["id"]),
            kit=catalog.describe_kit(challenge["kit"], self.commons.hub_url),
            mine=store.my_votes(self.db, challenge["id"], user["name"]) if user else set(),
            votes_left=store.votes_left(self.db, challenge, user["name"]) if user else None,
        )

    async def post(self, challenge_id):
        """A new idea from the form on the challenge page."""
        user = self.require_user()
        form = self.form("title", "summary")
        try:
            idea_id = store.create_idea(self.db, int(challenge_id), author=user["name"], **validate_idea(form))
        except CommonsError as e:
            return await self.get(challenge_id, error=str(e), status=e.status, form=form)
        self.redirect(f"{self.commons.prefix}ideas/{idea_id}")


class IdeaPage(Page):
    async def get(self, idea_id, *, error=None, status=200):
        idea = store.get_idea(self.db, int(idea_id))
        if not may_see_idea(self, idea):
            raise web.HTTPError(404, f"there is no idea {idea_id}")
        challenge = store.get_challenge(self.db, idea["challenge_id"])
        user = self.current_user
        self.render_page(
            "idea.html", status=status, idea=idea, challenge=challenge, error=error,
            prototypes=lineage.prototypes_for(await lineage.dashboards_for(self.commons, self.current_user), idea["id"]),
            voted=bool(user) and idea["id"] in store.my_votes(self.db, challenge["id"], user["name"]),
            votes_left=store.votes_left(self.db, challenge, user["name"]) if user else None,
            may_respond=may_respond(self, challenge), statuses=store.IDEA_STATUSES,
        )


class IdeaActionPage(Page):
    """Form posts on an idea: vote / withdraw, set its status (owners), report it, hide it (moderators)."""

    async def post(self, idea_id, action):
        user = self.require_user()
        idea = store.get_idea(self.db, int(idea_id))
        if not may_see_idea(self, idea):
            raise web.HTTPError(404, f"there is no idea {idea_id}")
        try:
            if action == "vote":
                store.vote(self.db, idea["id"], user["name"], withdraw=self.get_argument("withdraw", "") == "1")
            elif action == "status":
                challenge = store.get_challenge(self.db, idea["challenge_id"])
                if not may_respond(self, challenge):
                    raise web.HTTPError(403, f"only the challenge's owner ({challenge['owner']}) may set an idea's status")
                store.respond(self.db, idea["id"], status=self.get_argument("status", ""),
                              reason=self.get_argument("reason", "")[:20_000], responder=user["name"])
            elif action == "report":
                store.report(self.db, idea["id"], user["name"], self.get_argument("reason", "")[:2000].strip()
                             or "no reason given")
            elif action == "hide":
                if not self.is_moderator():
                    raise web.HTTPError(403, "only organisers may hide or show ideas")
                store.hide(self.db, idea["id"], reason=self.get_argument("reason", "")[:2000],
                           moderator=user["name"], hidden=self.get_argument("show", "") != "1")
        except CommonsError as e:
            return await IdeaPage.get(self, idea_id, error=str(e), status=e.status)
        anchor = "#reported" if action == "report" else ""
        self.redirect(f"{self.commons.prefix}ideas/{idea_id}{'?reported=1' if anchor else ''}")


class ReportsPage(Page):
    def get(self):
        self.require_user()
        if not self.is_moderator():
            raise web.HTTPError(403, "only organisers see reports")
        self.render_page("reports.html", reports=store.open_reports(self.db))


def init_store(db) -> None:
    """Pages keep no state of their own (see :mod:`.store`)."""


def routes(prefix: str) -> list[tuple]:
    return [
        (prefix + "challenges", ChallengesPage),
        (prefix + "challenges/new", NewChallengePage),
        (prefix + r"challenges/(\d{1,12})", ChallengePage),
        (prefix + r"ideas/(\d{1,12})", IdeaPage),
        (prefix + r"ideas/(\d{1,12})/(vote|status|report|hide)", IdeaActionPage),
        (prefix + "reports", ReportsPage),
    ]
