"""The gallery's HTML pages (GOV.UK Design System): gallery, submit, my submissions, review."""

from __future__ import annotations

import json
import logging
import os
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import quote

import nbformat
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from backstage.roles import COMMONS_SERVICE
from backstage.urls import service_url, user_server_url

from .handlers import BaseHandler, readable_checks
from .notebooks import NotebookRejected
from .preview import MAX_TEXT_LINES, review_warnings
from .store import StoreError
from .submit import SubmissionError, create_submission, fetch_from_server

log = logging.getLogger(__name__)

PAGE_CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
    "frame-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'self'"
)
STATUS_TAGS = {
    "checks-failed": "govuk-tag--red", "awaiting-review": "govuk-tag--yellow",
    "published": "govuk-tag--green", "rejected": "govuk-tag--red", "unpublished": "govuk-tag--grey",
    "superseded": "govuk-tag--grey",
}


def hub_pages_url() -> str:
    """The hub's pages (``.../hub/``), on the hub's own origin when each service has one of its own."""
    origin = os.environ.get("BACKSTAGE_SUBDOMAIN_HOST", "").rstrip("/")
    return origin + os.environ.get("JUPYTERHUB_BASE_URL", "/") + "hub/"


def _date(ts) -> str:
    return datetime.fromtimestamp(ts, UTC).strftime("%-d %B %Y") if ts else ""


class PageHandler(BaseHandler):
    def set_default_headers(self):
        super().set_default_headers()
        self.set_header("Content-Security-Policy", PAGE_CSP)

    def render_page(self, name: str, **ns):
        env = self.settings["jinja_env"]
        prefix = self.gallery.prefix
        html = env.get_template(name).render(
            user=self.current_user, reviewer=self.is_reviewer() if self.current_user else False,
            # the templates write the hidden input themselves: tornado's xsrf_form_html() is a plain string,
            # which autoescaping prints as text (and every form post then fails)
            prefix=prefix, xsrf_token=lambda: self.xsrf_token.decode(), date=_date, status_tags=STATUS_TAGS,
            hub_prefix=hub_pages_url(), commons_url=self._commons_url(), **ns,
        )
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(html)

    def _commons_url(self) -> str:
        """The commons' pages (an idea a dashboard answers links there), on its own host when services have one."""
        return service_url(COMMONS_SERVICE, self.gallery.public_hub_url, base_url=os.environ.get("JUPYTERHUB_BASE_URL", "/"))

    def write_error(self, status_code, **kwargs):
        exc = kwargs.get("exc_info", (None, None))[1]
        message = getattr(exc, "log_message", None) or HTTPStatus(status_code).phrase
        try:
            self.render_page("error.html", status=status_code, message=message)
        except Exception:  # never fail while reporting a failure
            self.finish(f"{status_code}: {HTTPStatus(status_code).phrase}")


class NotFoundPage(PageHandler):
    def prepare(self):
        raise web.HTTPError(404, "there is no such page in the gallery")


class GalleryPage(PageHandler):
    @web.authenticated
    def get(self):
        items = self.store.published_items()
        q = self.get_argument("q", "").strip()
        topic = self.get_argument("topic", "")
        dataset = self.get_argument("dataset", "")
        topics = sorted({t for i in items for t in i["topics"]})
        datasets = sorted({(d["id"], d.get("title") or d["id"]) for i in items for d in i["datasets"]})
        shown = []
        for item in items:
            text = " ".join([item["title"], item["summary"], item["author"], *item["topics"],
                             *(d.get("title") or d["id"] for d in item["datasets"])]).lower()
            if q and not all(word in text for word in q.lower().split()):
                continue
            if topic and topic not in item["topics"]:
                continue
            if dataset and dataset not in {d["id"] for d in item["datasets"]}:
                continue
            shown.append(item)
        self.render_page("gallery.html", items=shown, total=len(items), q=q, topic=topic, dataset=dataset,
                         topics=topics, datasets=datasets)


class SubmitPage(PageHandler):
    async def _notebooks(self) -> list[str] | None:
        """The notebooks in the top two levels of the viewer's own server (None if unreachable)."""
        token = self.hub_auth.get_token(self)
        server = user_server_url(self.current_user["name"], self.gallery.public_hub_url,
                                 base_url=os.environ.get("JUPYTERHUB_BASE_URL", "/"))
        found: list[str] = []
        folders = [""]
        client = AsyncHTTPClient()
        for depth in range(2):
            next_folders = []
            for folder in folders:
                url = f"{server}api/contents/{quote(folder)}?content=1"
                try:
                    response = await client.fetch(url, headers={"Authorization": f"token {token}"},
                                                  request_timeout=10, follow_redirects=False)
                except (HTTPClientError, OSError):
                    return None if depth == 0 else found
                for entry in json.loads(response.body).get("content") or []:
                    if entry["type"] == "notebook":
                        found.append(entry["path"])
                    elif entry["type"] == "directory" and not entry["name"].startswith("."):
                        next_folders.append(entry["path"])
            folders = next_folders[:20]
        return sorted(found)

    @web.authenticated
    async def get(self):
        form = {"idea": self.get_argument("idea", "")[:64]}
        self.render_page("submit.html", notebooks=await self._notebooks(), errors={}, form=form)

    async def post(self):
        user = self.require_user()
        form = {k: self.get_argument(k, "") for k in ("title", "summary", "topics", "path", "idea")}
        try:
            item = await create_submission(self.gallery, user["name"], form,
                                           lambda path: fetch_from_server(self, user, path))
        except (SubmissionError, NotebookRejected, StoreError) as e:
            self.set_status(getattr(e, "status", 400))
            message = str(e)
            field = ("idea" if "idea" in message else "path" if "path" in message or "notebook" in message
                     else "title")
            return self.render_page("submit.html", notebooks=await self._notebooks(), errors={field: message},
                                    form=form)
        self.redirect(f"{self.gallery.prefix}submissions/{item['id']}")


class MinePage(PageHandler):
    @web.authenticated
    def get(self):
        self.render_page("mine.html", items=self.store.query(author=self.current_user["name"]))


class SubmissionPage(PageHandler):
    """Details of one submission: its author sees checks and comments; reviewers also act on it."""

    @web.authenticated
    def get(self, submission_id):
        item = self.get_submission(submission_id)
        item["checks"] = readable_checks(item["checks"])
        folder = self.store.snapshots / submission_id
        self.render_page("submission.html", item=item, has_preview=(folder / "preview.html").exists(),
                         has_thumbnail=(folder / "thumbnail.png").exists(), warnings=self._warnings(folder),
                         max_text_lines=MAX_TEXT_LINES)

    @staticmethod
    def _warnings(folder) -> list[str]:
        """What officials would see that they should not (see preview.py), from the stored snapshots."""
        executed = folder / "executed.ipynb"
        try:
            nb = nbformat.read(folder / "submitted.ipynb", as_version=4)
            return review_warnings(nb, nbformat.read(executed, as_version=4) if executed.exists() else None)
        except (OSError, ValueError) as e:
            log.warning("could not read the snapshots in %s: %s", folder, e)
            return []


class ReviewQueuePage(PageHandler):
    @web.authenticated
    def get(self):
        self.require_reviewer()
        items = self.store.query()
        order = {"awaiting-review": 0, "checking": 1, "checks-failed": 2, "published": 3}
        items.sort(key=lambda i: (order.get(i["status"], 4), -i["created"]))
        self.render_page("review.html", items=items)


class ReviewActionPage(PageHandler):
    """Form posts of the review page: approve, reject (with a reason) or unpublish."""

    async def post(self, submission_id, action):
        reviewer = self.require_reviewer()
        self.get_submission(submission_id)
        body = {"reason": self.get_argument("reason", ""), "comment": self.get_argument("comment", "")}
        try:
            await self.gallery.act(submission_id, action, reviewer["name"], body)
        except StoreError as e:
            raise web.HTTPError(409, str(e)) from None
        self.redirect(f"{self.gallery.prefix}submissions/{submission_id}")


class SnapshotFileHandler(BaseHandler):
    """The static preview (no scripts at all) and the thumbnail of a submission."""

    @web.authenticated
    def get(self, submission_id, name):
        item = self.get_submission(submission_id, for_details=False)
        if name == "preview.html" and not self.can_see(item):
            raise web.HTTPError(404, "no preview you may see")
        if name == "thumbnail.png" and not (self.can_see(item) or item["status"] == "published"):
            raise web.HTTPError(404, "no thumbnail you may see")
        path = self.store.snapshots / submission_id / name
        if not path.exists():
            raise web.HTTPError(404, f"the checks have not produced {name} yet")
        if name == "preview.html":
            self.set_header("Content-Type", "text/html; charset=utf-8")
            self.set_header("Content-Security-Policy", "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'")
        else:
            self.set_header("Content-Type", "image/png")
        self.set_header("Cache-Control", "private, max-age=300")
        self.finish(path.read_bytes())


class GovukCSSHandler(web.RequestHandler):
    """GOV.UK Frontend's stylesheet with its ``/assets/`` URLs pointed at the lab's own copy."""

    _cache: bytes | None = None

    def get(self):
        cls = type(self)
        if cls._cache is None:
            path = os.path.join(self.settings["govuk_path"], "govuk-frontend.min.css")
            if not os.path.exists(path):
                raise web.HTTPError(500, "GOV.UK Frontend is missing: run 'make vendor'")
            with open(path, "rb") as f:
                css = f.read()
            cls._cache = css.replace(b"url(/assets/", f"url({self.settings['gallery'].prefix}govuk/assets/".encode())
        self.set_header("Content-Type", "text/css; charset=utf-8")
        self.set_header("Cache-Control", "public, max-age=3600")
        self.finish(cls._cache)
