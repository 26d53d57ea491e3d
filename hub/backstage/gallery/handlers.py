"""Base handler (hub OAuth, roles, errors) and the JSON API of contract 4."""

from __future__ import annotations

import json
import logging
from http import HTTPStatus

from jupyterhub.services.auth import HubOAuthenticated, UserNotAllowed
from tornado import web

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


class BaseHandler(HubOAuthenticated, web.RequestHandler):
    """Resolves the hub user asynchronously before every request and knows the viewer's rights."""

    @property
    def gallery(self):
        return self.settings["gallery"]

    @property
    def store(self):
        return self.gallery.store

    _gallery_user: dict | None = None
    _not_allowed = False

    async def prepare(self):
        # Resolved once, asynchronously; get_current_user() (tornado's hook) then only reads it.
        model = await self.hub_auth.get_user(self, sync=False)
        if model:
            try:
                model = self.check_hub_user(model)
            except UserNotAllowed:
                model = None
                self._not_allowed = True
        self._gallery_user = model

    def get_current_user(self):
        return self._gallery_user

    def has_token_header(self) -> bool:
        return bool(self.hub_auth.get_token(self, in_cookie=False))

    def has_login_cookie(self) -> bool:
        return bool(self.get_cookie(self.hub_auth.cookie_name))

    def is_reviewer(self, user=None) -> bool:
        user = user or self.current_user
        return bool(user) and self.gallery.review_scope in (user.get("scopes") or [])

    def require_user(self) -> dict:
        """The signed-in user, or a 403 saying why (missing XSRF token, no access)."""
        user = self.current_user
        if user:
            return user
        if self._not_allowed and self.has_token_header():
            raise web.HTTPError(403, SCOPE_MISSING_ADVICE)
        if self._not_allowed:
            raise web.HTTPError(403, "you are in none of the lab's groups, so the gallery is closed to you: ask an "
                                     "organiser to add you to 'participants' (or 'officials') at the hub's admin page")
        if self.request.method not in ("GET", "HEAD") and self.has_login_cookie():
            raise web.HTTPError(403, "missing or invalid XSRF token: reload the page and try again")
        raise web.HTTPError(403, "sign in first, or send 'Authorization: token <your hub token>'")

    def require_reviewer(self) -> dict:
        user = self.require_user()
        if not self.is_reviewer(user):
            raise web.HTTPError(403, "only reviewers may do this (scope custom:gallery:review)")
        return user

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

    def set_default_headers(self):
        self.set_header("X-Content-Type-Options", "nosniff")
        self.set_header("Referrer-Policy", "same-origin")
        self.set_header("X-Frame-Options", "SAMEORIGIN")


class APIHandler(BaseHandler):
    """JSON in, JSON out; errors as ``{"error": message}``; never redirects to the login page."""

    def get_login_url(self):
        raise web.HTTPError(403, "sign in first, or send 'Authorization: token <your hub token>'")

    def check_xsrf_cookie(self):
        # Cookie-authenticated API calls are checked by the hub-auth layer (no user without XSRF).
        return self.hub_auth.check_xsrf_cookie(self)

    def json_body(self) -> dict:
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as e:
            raise web.HTTPError(400, f"the request body is not JSON: {e}") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "the request body must be a JSON object")
        return body

    def write_json(self, data, status: int = 200):
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(data))

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None))[1]
        message = getattr(exc, "log_message", None) or HTTPStatus(status_code).phrase
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"error": message, "status": status_code}))


def public_view(item: dict, *, details: bool) -> dict:
    """What the API shows of a submission (details only to its author and reviewers)."""
    keys = ["id", "status", "title", "summary", "topics", "author", "slug", "version", "created", "updated",
            "datasets", "published_at"]
    view = {k: item[k] for k in keys}
    view["idea"] = item.get("idea")
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
    """``POST .../approve`` (-> slug, url), ``.../reject`` {reason}, ``.../unpublish`` {reason}."""

    async def post(self, submission_id, action):
        reviewer = self.require_reviewer()
        self.get_submission(submission_id)
        body = self.json_body()
        try:
            result = await self.gallery.act(submission_id, action, reviewer["name"], body)
        except StoreError as e:
            raise web.HTTPError(409, str(e)) from None
        self.write_json(result)


class DashboardsAPIHandler(APIHandler):
    """``GET api/dashboards``: the published dashboards, with the idea and datasets each answers and uses.

    For other services (the commons, with its own token and ``access:services!service=gallery``) and signed-in
    people. Datasets come from the checks' provenance, not from what the author typed.
    """

    async def get(self):
        self.require_user()
        base = self.gallery.public_url
        self.write_json({"dashboards": [
            {"slug": i["slug"], "title": i["title"], "url": f"{base}dashboards/{i['slug']}", "idea": i.get("idea"),
             "datasets": [d["id"] for d in i["datasets"]], "author": i["author"], "version": i["version"],
             "published_at": i["published_at"]}
            for i in self.store.published_items()
        ]})
