"""The gallery's HTML pages (GOV.UK Design System): gallery, submit, my submissions, review."""

from __future__ import annotations

import json
import logging
import os
from urllib.parse import quote

import nbformat
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from backstage.roles import COMMONS_SERVICE
from backstage.urls import service_url, user_server_url
from backstage.web import PageHandler

from .handlers import GalleryHandler, readable_checks
from .notebooks import NotebookRejected
from .preview import MAX_TEXT_LINES, review_warnings
from .remix import can_remix
from .store import StoreError
from .submit import SubmissionError, create_submission, fetch_from_server

log = logging.getLogger(__name__)

#: the Approve form's "Who can see this dashboard" choices (the first is the default)
AUDIENCES = ("signed-in", "anyone")
USAGE_KINDS = (("official", "Officials"), ("participant", "Participants"), ("reviewer", "Reviewers"),
               ("anonymous", "Not signed in"))

STATUS_TAGS = {
    "checks-failed": "govuk-tag--red", "awaiting-review": "govuk-tag--yellow",
    "published": "govuk-tag--green", "rejected": "govuk-tag--red", "unpublished": "govuk-tag--grey",
    "superseded": "govuk-tag--grey",
}


def hub_pages_url() -> str:
    """The hub's pages (``.../hub/``), on the hub's own origin when each service has one of its own."""
    origin = os.environ.get("BACKSTAGE_SUBDOMAIN_HOST", "").rstrip("/")
    return origin + os.environ.get("JUPYTERHUB_BASE_URL", "/") + "hub/"


class GalleryPageHandler(GalleryHandler, PageHandler):
    """A page of the gallery: the shared GOV.UK layout (``backstage.web``) with the gallery's navigation."""

    site_section = "gallery"  # the site's navigation (Commons, My lab, ...) is the shared layout's

    def page_namespace(self) -> dict:
        ns = super().page_namespace()
        p = self.gallery.prefix
        user = self.current_user
        reviewer = self.is_reviewer() if user else False
        commons = self._commons_url()
        nav = []
        if can_remix(user):  # people with a lab of their own submit from it; officials and reviewers read
            nav += [("Submit a notebook", p + "submit"), ("My submissions", p + "mine")]
        if reviewer:
            nav.append(("Review queue", p + "review"))
        ns.update(service_name="Dashboard gallery", nav=nav, reviewer=reviewer, status_tags=STATUS_TAGS,
                  hub_prefix=hub_pages_url(), commons_url=commons)
        return ns

    def _commons_url(self) -> str:
        """The commons' pages (an idea a dashboard answers links there), on its own host when services have one."""
        return service_url(COMMONS_SERVICE, self.gallery.public_hub_url, base_url=os.environ.get("JUPYTERHUB_BASE_URL", "/"))


class NotFoundPage(GalleryPageHandler):
    def prepare(self):
        raise web.HTTPError(404, "there is no such page in the gallery")


class GalleryPage(GalleryPageHandler):
    """The published dashboards: all of them for people who may use the gallery, the public ones for anyone."""

    async def get(self):
        signed_in = bool(self.current_user)
        items = self.store.published_items(public_only=not signed_in)
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
        links = self.settings["commons_links"]
        problems = await links.data_problems()
        ideas = {item["idea"]: await links.idea(item["idea"]) for item in shown if item.get("idea")}
        self.render_page("gallery.html", items=shown, total=len(items), q=q, topic=topic, dataset=dataset,
                         topics=topics, datasets=datasets, problems=problems, ideas=ideas, signed_in=signed_in,
                         sign_in_url=None if signed_in else self.gallery.prefix + "sign-in")


class SignInPage(GalleryPageHandler):
    """``sign-in``: through the hub's sign-in, then back to the gallery (the anonymous gallery's "Sign in")."""

    @web.authenticated
    def get(self):
        self.redirect(self.gallery.prefix)


class SubmitPage(GalleryPageHandler):
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
            message = str(e)
            field = ("idea" if "idea" in message else "path" if "path" in message or "notebook" in message
                     else "title")
            return self.render_page("submit.html", status=getattr(e, "status", 400),
                                    notebooks=await self._notebooks(), errors={field: message}, form=form)
        self.redirect(f"{self.gallery.prefix}submissions/{item['id']}")


class MinePage(GalleryPageHandler):
    @web.authenticated
    def get(self):
        self.render_page("mine.html", items=self.store.query(author=self.current_user["name"]))


class SubmissionPage(GalleryPageHandler):
    """Details of one submission: its author sees checks and comments; reviewers also act on it."""

    @web.authenticated
    def get(self, submission_id):
        item = self.get_submission(submission_id)
        item["checks"] = readable_checks(item["checks"])
        folder = self.store.snapshots / submission_id
        usage = self.settings.get("usage")
        figures = usage.figures(item["slug"]) if usage is not None and usage.enabled else None
        self.render_page("submission.html", item=item, has_preview=(folder / "preview.html").exists(),
                         has_thumbnail=(folder / "thumbnail.png").exists(), warnings=self._warnings(folder),
                         max_text_lines=MAX_TEXT_LINES, figures=figures, usage_kinds=USAGE_KINDS,
                         visibility=self.store.visibility_changes(submission_id))

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


class ReviewQueuePage(GalleryPageHandler):
    @web.authenticated
    def get(self):
        self.require_reviewer()
        items = self.store.query()
        order = {"awaiting-review": 0, "checking": 1, "checks-failed": 2, "published": 3}
        items.sort(key=lambda i: (order.get(i["status"], 4), -i["created"]))
        self.render_page("review.html", items=items)


class ReviewActionPage(GalleryPageHandler):
    """Form posts of the review page: approve (signed-in only or public), reject (with a reason), unpublish,
    or change who can see a published dashboard (``visibility``)."""

    async def post(self, submission_id, action):
        reviewer = self.require_reviewer()
        self.get_submission(submission_id)
        body = {"reason": self.get_argument("reason", ""), "comment": self.get_argument("comment", "")}
        audience = self.get_argument("audience", "signed-in")
        if audience not in AUDIENCES:
            raise web.HTTPError(400, f"'audience' must be one of {', '.join(AUDIENCES)}, not {audience!r}")
        try:
            if action == "visibility":
                self.store.set_public(submission_id, audience == "anyone", reviewer["name"])
            else:
                await self.gallery.act(submission_id, action, reviewer["name"], {**body, "public": audience == "anyone"})
        except StoreError as e:
            raise web.HTTPError(409, str(e)) from None
        self.redirect(f"{self.gallery.prefix}submissions/{submission_id}")


class SnapshotFileHandler(GalleryHandler):
    """The static preview (no scripts at all) and the thumbnail of a submission."""

    def get(self, submission_id, name):
        item = self.get_submission(submission_id, for_details=False)
        public_thumbnail = name == "thumbnail.png" and item["status"] == "published" and item["public"]
        if not self.current_user and not public_thumbnail:
            return self.redirect(self.get_login_url())  # as @web.authenticated would
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
