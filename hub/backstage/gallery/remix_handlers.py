"""The gallery's remix routes (see :mod:`.remix`): the version a confirmation page names, the notebook to copy,
and the dashboard header's "Remix in my lab" button."""

from __future__ import annotations

import logging

import nbformat
from tornado import web

from .handlers import APIHandler
from .pages import GalleryPageHandler, hub_pages_url
from .remix import RemixError, can_remix, lab_remix_url, remix_notebook, remixable_version

log = logging.getLogger(__name__)

__all__ = ["RemixPage", "RemixVersionHandler", "routes"]


class RemixVersionHandler(APIHandler):
    """``GET api/dashboards/<slug>/versions/<n>`` (what the confirmation page names) and ``.../notebook``."""

    def _version(self, slug, version) -> dict:
        try:
            return remixable_version(self.store, slug, version)
        except RemixError as e:
            raise web.HTTPError(e.status, str(e)) from None

    def dashboard_url(self, item: dict) -> str:
        return f"{self.gallery.public_url}dashboards/{item['slug']}"

    async def get(self, slug, version, notebook):
        user = self.require_user()
        item = self._version(slug, version)
        if not notebook:
            self.write_json({"slug": item["slug"], "version": item["version"], "title": item["title"],
                             "author": item["author"], "status": item["status"], "url": self.dashboard_url(item),
                             "remixes": self.store.remix_count(item["slug"])})
            return
        folder = self.store.snapshots / item["id"]
        try:
            submitted = nbformat.read(folder / "submitted.ipynb", as_version=4)
        except (OSError, ValueError) as e:
            log.error("the snapshot of %s v%d cannot be read: %s", item["slug"], item["version"], e)
            raise web.HTTPError(500, "the gallery cannot read this dashboard's snapshot: tell a reviewer") from None
        executed = None
        if (folder / "executed.ipynb").exists():
            try:
                executed = nbformat.read(folder / "executed.ipynb", as_version=4)
            except (OSError, ValueError) as e:  # the run is the submitted code's: the copy goes without its outputs
                log.warning("the gallery's run of %s v%d cannot be read: %s", item["slug"], item["version"], e)
        nb = remix_notebook(submitted, executed, item, self.dashboard_url(item), self.gallery.checks.max_notebook_bytes)
        self.store.record_remix(item["slug"], item["version"], user["name"])
        log.info("%s remixes %s v%d", user["name"], item["slug"], item["version"])
        self.set_header("Cache-Control", "no-store")
        self.write_json(nb)


class RemixPage(GalleryPageHandler):
    """``GET remix/<slug>/<n>``: on to the person's own lab, or why there is none (an official, a reviewer)."""

    @web.authenticated
    def get(self, slug, version):
        try:
            item = remixable_version(self.store, slug, version)
        except RemixError as e:
            raise web.HTTPError(e.status, str(e)) from None
        if can_remix(self.current_user):
            return self.redirect(lab_remix_url(item["slug"], item["version"], hub_pages_url()))
        self.render_page("remix_no_lab.html", item=item)


def routes(prefix: str) -> list[tuple]:
    """The gallery's remix routes (``app.py`` adds them before its catch-all)."""
    return [
        (prefix + r"api/dashboards/([^/]{1,100})/versions/([^/]{1,40})(/notebook)?", RemixVersionHandler),
        (prefix + r"remix/([^/]{1,100})/([^/]{1,40})", RemixPage),
    ]
