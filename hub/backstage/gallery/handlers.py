"""The gallery's handler base (the shared ``backstage.web`` base plus reviewers and authors) and the JSON API of
contract 4."""

from __future__ import annotations

import logging

from tornado import web

from backstage import web as web_base
from backstage.web import HubUserHandler

from .notebooks import NotebookRejected, strip_ansi
from .store import StoreError
from .submit import SubmissionError, create_submission, fetch_from_server

log = logging.getLogger(__name__)

SCOPE_MISSING_ADVICE = (
    "this token does not carry the gallery's scope (access:services!service=gallery). A server's own token "
    "gets it when the server starts, if you are then in one of the lab's groups: stop and start your server "
    "(hub home page), then run the cell again; if it still fails, ask an organiser to add you to 'participants'. "
    "A token made on the hub's token page needs that scope (leave the scopes empty for all of yours)."
)


class GalleryHandler(HubUserHandler):
    """The shared hub-OAuth base (``backstage.web``) plus the gallery's rights: reviewers, authors."""

    service_title = "the gallery"

    @property
    def gallery(self):
        return self.settings["gallery"]

    @property
    def store(self):
        return self.gallery.store

    def is_reviewer(self, user=None) -> bool:
        return self.has_scope(self.gallery.review_scope, user)

    def require_user(self) -> dict:
        """As the shared base, but a token without the gallery's scope, or a person in no group, hears how to
        get in (a notebook cell's server token, a person not yet in 'participants')."""
        if not self.current_user and self._not_allowed:
            if self.hub_auth.get_token(self, in_cookie=False):
                raise web.HTTPError(403, SCOPE_MISSING_ADVICE)
            raise web.HTTPError(403, "you are in none of the lab's groups, so the gallery is closed to you: ask an "
                                     "organiser to add you to 'participants' (or 'officials') at the hub's admin page")
        return super().require_user()

    def require_reviewer(self) -> dict:
        return self.require_scope(self.gallery.review_scope, "reviewers")

    def can_see(self, item: dict) -> bool:
        user = self.current_user
        return bool(user) and (item["author"] == user["name"] or self.is_reviewer(user))

    def get_submission(self, submission_id: str, *, for_details: bool = True) -> dict:
        try:
            item = self.store.get(submission_id)
        except StoreError as e:
            raise web.HTTPError(404, str(e)) from None
        if for_details and not self.can_see(item):
            raise web.HTTPError(404, f"no submission {submission_id!r} that you may see")
        return item


class APIHandler(GalleryHandler, web_base.APIHandler):
    """The gallery's JSON API (contract 4): the shared JSON base with the gallery's rights."""


def public_view(item: dict, *, details: bool) -> dict:
    """What the API shows of a submission (details only to its author and reviewers)."""
    keys = ["id", "status", "title", "summary", "topics", "author", "slug", "version", "created", "updated",
            "datasets", "published_at"]
    view = {k: item[k] for k in keys}
    view["idea"] = item.get("idea")
    view["public"] = item.get("public", False)
    if details:
        view["checks"] = readable_checks(item["checks"])
        view["comments"] = item["comments"]
    return view


def readable_checks(checks):
    """Check results with terminal colour codes removed from their text (tracebacks carry them)."""
    if isinstance(checks, dict):
        return {k: readable_checks(v) for k, v in checks.items()}
    if isinstance(checks, list):
        return [readable_checks(v) for v in checks]
    return strip_ansi(checks)


class SubmissionsAPIHandler(APIHandler):
    async def get(self):
        user = self.require_user()
        items = self.store.query() if self.is_reviewer(user) else self.store.query(author=user["name"])
        self.write_json({"submissions": [public_view(i, details=True) for i in items]})

    async def post(self):
        user = self.require_user()
        if len(self.request.body) > self.gallery.checks.max_notebook_bytes + 64 * 1024:
            raise web.HTTPError(413, "the request is larger than the notebook size limit: clear large outputs")
        body = self.json_body()
        try:
            item = await create_submission(self.gallery, user["name"], body,
                                           lambda path: fetch_from_server(self, user, path))
        except (SubmissionError, NotebookRejected, StoreError) as e:
            raise web.HTTPError(getattr(e, "status", 400), str(e)) from None
        url = self.gallery.public_url + f"submissions/{item['id']}"
        self.write_json({"id": item["id"], "status": item["status"], "url": url}, status=201)


class SubmissionAPIHandler(APIHandler):
    async def get(self, submission_id):
        self.require_user()
        item = self.get_submission(submission_id)
        self.write_json(public_view(item, details=True))


class ActionAPIHandler(APIHandler):
    """``POST .../approve`` {public: false} (-> slug, url), ``.../reject`` {reason}, ``.../unpublish`` {reason}."""

    async def post(self, submission_id, action):
        reviewer = self.require_reviewer()
        self.get_submission(submission_id)
        body = self.json_body()
        if not isinstance(body.get("public", False), bool):
            raise web.HTTPError(400, f"'public' must be true (anyone may open the dashboard) or false (signed-in "
                                     f"people only), not {body['public']!r}")
        try:
            result = await self.gallery.act(submission_id, action, reviewer["name"], body)
        except StoreError as e:
            raise web.HTTPError(409, str(e)) from None
        self.write_json(result)


class DashboardsAPIHandler(APIHandler):
    """``GET api/dashboards``: the published dashboards, with the idea and datasets each answers and uses.

    For other services (the commons, with its own token and ``access:services!service=gallery``) and signed-in
    people: every published dashboard, each saying whether it is ``public``. Anyone else (no token, no session):
    the public ones only. Datasets come from the checks' provenance, not from what the author typed.
    """

    async def get(self):
        if self.request.headers.get("Authorization") or self._not_allowed:
            self.require_user()  # a token or a person the gallery refuses hears why, as before
        base = self.gallery.public_url
        self.write_json({"dashboards": [
            {"slug": i["slug"], "title": i["title"], "url": f"{base}dashboards/{i['slug']}", "idea": i.get("idea"),
             "datasets": [d["id"] for d in i["datasets"]], "author": i["author"], "version": i["version"],
             "published_at": i["published_at"], "public": i["public"]}
            for i in self.store.published_items(public_only=not self.current_user)
        ]})
