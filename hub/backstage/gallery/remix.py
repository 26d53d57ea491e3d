"""Remix in my lab: the approved snapshot of a dashboard, copied into a participant's own lab.

The handlers are in :mod:`.remix_handlers`. The gallery never writes into anyone's server (least privilege). The button leads the participant to their own
server (``<hub>/hub/user-redirect/backstage/remix?dashboard=<slug>&version=<n>``), where
:mod:`backstage.singleuser.remix` asks them to confirm, then fetches the notebook from here with the server's own
token (it carries ``access:services!service=gallery``) and writes it into their home. Here:

- ``GET api/dashboards/<slug>/versions/<n>``: what the confirmation page names (title, author), nothing counted;
- ``GET api/dashboards/<slug>/versions/<n>/notebook``: the notebook to copy, and one remix counted for the caller
  (a person counts once per dashboard however often they copy it, so the figure cannot be inflated);
- ``GET remix/<slug>/<n>``: the dashboard header's button: a person with a lab goes on to it, anyone else (an
  official or reviewer reads dashboards, with no lab) is told what Remix does and how to get a lab.

Only a version that was approved (published, or published and since superseded) can be copied. The copy is that
snapshot's code (the cells tagged ``author-only`` are not in it, as in the dashboard) with the outputs of the
gallery's own run of it, when that run's cells are the snapshot's (the run is made by the submitted code, which
could have rewritten its own output file); the code keeps its pinned dataset ids, so it re-runs offline to the same
outputs. Its metadata ``backstage.based_on`` names the original; a submission of the copy shows "Based on" with the
title the gallery holds for that version (never one typed into the notebook).
"""

from __future__ import annotations

import html
import logging
import re
from urllib.parse import urlencode

import nbformat

from .notebooks import dashboard_view
from .store import StoreError, check_slug

log = logging.getLogger(__name__)

__all__ = ["REMIX_PATH", "RemixError", "based_on_of", "can_remix", "check_version", "lab_remix_url", "remix_notebook",
           "remixable_version"]

#: Where the remix page is on a person's server (see backstage.singleuser.remix).
REMIX_PATH = "backstage/remix"
MAX_VERSION = 999_999
REMIXABLE = ("published", "superseded")
_VERSION_RE = re.compile(r"^[1-9][0-9]{0,5}$")
#: The kernel the gallery's checks and dashboards run every notebook with (checks.py, execute.py).
PYTHON3 = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}
AGAIN = "open the dashboard from the gallery and press 'Remix in my lab' there"
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]()#+\-.!|~>])")


class RemixError(ValueError):
    """A remix request refused; ``status`` is the HTTP code, the message names the cause and the fix."""

    def __init__(self, message: str, status: int):
        super().__init__(message)
        self.status = status


def check_version(text) -> int:
    """A version number from a URL: 1 to 999999, digits only.

    Examples
    --------
    >>> check_version("3")
    3
    """
    if isinstance(text, int) and not isinstance(text, bool):
        text = str(text)
    if not isinstance(text, str) or not _VERSION_RE.match(text):
        shown = repr(text)[:40]
        raise RemixError(f"{shown} is not a version number (1 to {MAX_VERSION}): {AGAIN}", 400)
    return int(text)


def remixable_version(store, slug, version) -> dict:
    """The submission that is version *version* of dashboard *slug*, if it was ever approved; else `RemixError`."""
    try:
        slug = check_slug(slug)
    except StoreError as e:
        raise RemixError(f"{str(e)[:200]}: {AGAIN}", 400) from None
    number = check_version(version)
    item = store.version_for(slug, number)
    if item is None or item["status"] not in REMIXABLE or not item.get("published_at"):
        raise RemixError(f"the gallery has no approved version {number} of {slug!r}: {AGAIN}", 404)
    return item


def can_remix(user: dict | None) -> bool:
    """Whether *user* has a lab to remix into: participants (and the admin). Officials and reviewers read
    dashboards in the gallery; JupyterHub starts no lab for them (backstage.auth.landing)."""
    return bool(user) and ("participants" in (user.get("groups") or []) or bool(user.get("admin")))


def lab_remix_url(slug: str, version: int, hub_url: str) -> str:
    """The person's own server's remix page, through the hub (which knows where their server is).

    Examples
    --------
    >>> lab_remix_url("bus-stops", 3, "http://localhost:8000/hub/")
    'http://localhost:8000/hub/user-redirect/backstage/remix?dashboard=bus-stops&version=3'
    """
    query = urlencode({"dashboard": slug, "version": int(version)})
    return f"{hub_url}user-redirect/{REMIX_PATH}?{query}"


def _markdown_text(text: str) -> str:
    """*text* shown literally in a Markdown cell: HTML escaped, Markdown's punctuation backslashed."""
    return _MARKDOWN_SPECIAL.sub(r"\\\1", html.escape(" ".join(str(text).split()), quote=False))


def _source(cell) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def _with_outputs(nb: nbformat.NotebookNode, executed: nbformat.NotebookNode | None) -> bool:
    """Give *nb*'s code cells the outputs of *executed* when every cell's type and source are the same."""
    if executed is None or len(executed.cells) != len(nb.cells):
        return False
    if any(a.cell_type != b.cell_type or _source(a) != _source(b) for a, b in zip(nb.cells, executed.cells, strict=True)):
        return False
    for cell, ran in zip(nb.cells, executed.cells, strict=True):
        if cell.cell_type == "code":
            cell.outputs = ran.get("outputs", [])
            cell.execution_count = ran.get("execution_count")
    return True


def based_on_note(item: dict, url: str) -> str:
    """The first cell of a remix: where it came from, with a link."""
    return (f"*Based on [{_markdown_text(item['title'])}]({url}) v{item['version']} by "
            f"{_markdown_text(item['author'])}.* This is your own copy: change anything, run it, and submit it "
            "to the gallery when it is ready; the gallery will show what it is based on.")


def remix_notebook(submitted: nbformat.NotebookNode, executed: nbformat.NotebookNode | None, item: dict,
                   dashboard_url: str, max_bytes: int | None = None) -> nbformat.NotebookNode:
    """The copy a participant gets of *item*'s snapshot (see the module's docstring).

    Parameters
    ----------
    submitted, executed
        The stored snapshot and the gallery's run of it (None if there is none).
    item
        The submission (``slug``, ``version``, ``title``, ``author``, ``datasets``).
    dashboard_url
        The dashboard's address in the gallery, for the note and the metadata.
    max_bytes
        When the copy with the run's outputs would be larger, it is given the snapshot's own outputs.
    """
    nb = dashboard_view(submitted)
    if _with_outputs(nb, executed) and max_bytes and len(nbformat.writes(nb)) > max_bytes:
        nb = dashboard_view(submitted)
    based_on = {"slug": item["slug"], "version": item["version"], "title": item["title"], "url": dashboard_url,
                "author": item["author"], "datasets": [d["id"] for d in item.get("datasets") or [] if d.get("id")]}
    if not isinstance(nb.metadata.get("kernelspec"), dict):  # the gallery ran it with python3: the lab asks no one
        nb.metadata["kernelspec"] = dict(PYTHON3)
    backstage = nb.metadata.get("backstage")
    nb.metadata["backstage"] = {**(backstage if isinstance(backstage, dict) else {}), "based_on": based_on}
    nb.cells.insert(0, nbformat.v4.new_markdown_cell(based_on_note(item, dashboard_url)))
    nbformat.validate(nb)
    return nb


def based_on_of(nb: nbformat.NotebookNode, store) -> dict | None:
    """What a submitted notebook is a remix of, as the gallery knows it: ``{"slug", "version", "title",
    "author"}`` of an approved version named by its ``backstage.based_on`` metadata, else None (no metadata,
    or it names nothing the gallery approved: the title and link shown always come from the gallery)."""
    meta = nb.metadata.get("backstage")
    claim = meta.get("based_on") if isinstance(meta, dict) else None
    if not isinstance(claim, dict):
        return None
    try:
        item = remixable_version(store, claim.get("slug"), claim.get("version"))
    except RemixError as e:
        log.info("a submission names a dashboard it is based on that the gallery does not hold: %s", e)
        return None
    return {"slug": item["slug"], "version": item["version"], "title": item["title"], "author": item["author"]}
