"""Handler bases of the commons: the shared web base plus "who may read" (site setting ``commons.public``)."""

from __future__ import annotations

import logging
from urllib.parse import quote

from tornado import web

from backstage.web import APIHandler, PageHandler

from .store import CommonsError

log = logging.getLogger(__name__)


class CommonsMixin:
    """Reading is public while ``CommonsApp.public`` holds; otherwise every request needs a signed-in person."""

    service_title = "the commons"
    #: answers anonymous visitors even in a closed lab (the sign-in bounce itself)
    open_when_closed = False

    @property
    def commons(self):
        return self.settings["commons"]

    @property
    def db(self):
        return self.commons.db

    async def prepare(self):
        await super().prepare()
        if not self.commons.public and not self.current_user and not self.open_when_closed:
            self.refuse_anonymous()

    def refuse_anonymous(self):
        self.require_user()

    def log_exception(self, typ, value, tb):
        if isinstance(value, CommonsError):  # a refusal with its own status and message, not a crash
            log.info("%s %s: %s %s", self.request.method, self.request.path, value.status, value)
            return
        super().log_exception(typ, value, tb)

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None, None))[1]
        if isinstance(exc, CommonsError):
            status_code = exc.status
            self.set_status(status_code)
            kwargs["exc_info"] = (web.HTTPError, web.HTTPError(status_code, str(exc)), None)
        super().write_error(status_code, **kwargs)

    def is_challenger(self, user: dict | None = None) -> bool:
        """May post challenges (organisers, officials, admin)."""
        return self.has_scope(self.commons.challenges_scope, user)

    def is_moderator(self, user: dict | None = None) -> bool:
        """May see reports and hide ideas (organisers and admins)."""
        return self.in_group(self.commons.moderators_group, user)


class CommonsAPIHandler(CommonsMixin, APIHandler):
    """A JSON endpoint of the commons."""


class CommonsPageHandler(CommonsMixin, PageHandler):
    """A page of the commons (GOV.UK layout with the commons' navigation)."""

    def refuse_anonymous(self):
        if self.request.method in ("GET", "HEAD") and not self._not_allowed:
            self.redirect(f"{self.commons.prefix}sign-in?next={quote(self.request.uri)}")
            return
        self.require_user()

    site_section = "commons"  # the site's navigation (Gallery, My lab, Sign in/out) is the shared layout's

    def page_namespace(self) -> dict:
        ns = super().page_namespace()
        p = self.commons.prefix
        hub = self.commons.hub_url
        nav = [("Challenges", p + "challenges"), ("Data requests", p + "requests")]
        if self.current_user:
            nav.append(("Your updates", p + "updates"))  # answers and alerts on what you filed or supported
            if self.is_moderator():
                nav.append(("Reports", p + "reports"))
        else:
            here = self.request.uri if self.request.method == "GET" and self.get_status() == 200 else p
            ns["sign_in_url"] = f"{p}sign-in?next={quote(here)}"
        ns.update(service_name="Commons", nav=nav, hub_url=hub, home_url=p,
                  challenger=self.is_challenger(), moderator=self.is_moderator())
        return ns


class NotFoundPage(CommonsPageHandler):
    async def prepare(self):
        await super().prepare()
        if not self._finished:
            raise web.HTTPError(404, "there is no such page in the commons")
