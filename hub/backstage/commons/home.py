"""The commons' home page (the lab's front door), the sign-in bounce and the house rules."""

from __future__ import annotations

from tornado import web

from .base import CommonsPageHandler


def init_store(db) -> None:
    """The home page keeps no state of its own."""


class HomePage(CommonsPageHandler):
    async def get(self):
        from . import lineage, store

        self.render_page("home.html", challenges=store.list_challenges(self.db, open_only=True),
                         ideas=store.recent_ideas(self.db, limit=5),
                         dashboards=(await lineage.dashboards_for(self.commons, self.current_user))[:5])


class SignInPage(CommonsPageHandler):
    """Sends an anonymous visitor through the hub's sign-in, then back to ``next`` in the commons."""

    open_when_closed = True

    @web.authenticated
    def get(self):
        target = self.get_argument("next", "")
        self.redirect(target if target.startswith(self.commons.prefix) else self.commons.prefix)


class RulesPage(CommonsPageHandler):
    """The house rules are one text for the whole lab, served by the hub (backstage.public_pages)."""

    def get(self):
        self.redirect(self.commons.hub_url + "house-rules")


def routes(prefix: str) -> list[tuple]:
    return [(prefix, HomePage), (prefix + "sign-in", SignInPage), (prefix + "house-rules", RulesPage)]
