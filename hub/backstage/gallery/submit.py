"""Turning a submission request (notebook JSON or a path on the submitter's server) into a stored one."""

from __future__ import annotations

import json
import logging
import os
import re
from collections.abc import Awaitable, Callable
from urllib.parse import quote

import nbformat
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from backstage.urls import user_server_url

from .notebooks import NotebookRejected, check_server_path, dashboard_view, validate_notebook
from .remix import based_on_of

log = logging.getLogger(__name__)

MAX_TITLE, MAX_SUMMARY, MAX_TOPICS, MAX_TOPIC = 120, 1000, 8, 40
_IDEA_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class SubmissionError(ValueError):
    """A submission request is refused; ``status`` is the HTTP code to answer."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def clean_fields(body: dict) -> tuple[str, str, list[str]]:
    """Validate title, summary and topics (text is stored as given and escaped when shown)."""
    title, summary, topics = body.get("title"), body.get("summary", ""), body.get("topics", [])
    if not isinstance(title, str) or not title.strip():
        raise SubmissionError("give a title (up to 120 characters)")
    if len(title) > MAX_TITLE:
        raise SubmissionError(f"the title is {len(title)} characters: keep it to {MAX_TITLE}")
    if not isinstance(summary, str) or len(summary) > MAX_SUMMARY:
        raise SubmissionError(f"the summary must be text of up to {MAX_SUMMARY} characters")
    if isinstance(topics, str):
        topics = [t for t in topics.split(",")]
    if not isinstance(topics, list) or not all(isinstance(t, str) for t in topics):
        raise SubmissionError("topics must be a list of words, e.g. [\"transport\", \"health\"]")
    topics = list(dict.fromkeys(t.strip().lower() for t in topics if t.strip()))
    if len(topics) > MAX_TOPICS or any(len(t) > MAX_TOPIC for t in topics):
        raise SubmissionError(f"give at most {MAX_TOPICS} topics of up to {MAX_TOPIC} characters each")
    return title.strip(), summary.strip(), topics


def clean_idea(value) -> int | str | None:
    """The commons idea a submission answers: a number or a short id (None when not given).

    Examples
    --------
    >>> clean_idea("12"), clean_idea(""), clean_idea("idea-7")
    (12, None, 'idea-7')
    """
    if value is None or value == "":
        return None
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise SubmissionError("'idea' must be the id of an idea in the commons, e.g. 12")
    text = str(value).strip()
    if not _IDEA_RE.match(text):
        raise SubmissionError(f"{text[:70]!r} is not an idea id: copy the number from the idea's page in the commons")
    return int(text) if text.isdigit() else text


async def fetch_from_server(handler, user: dict, path: str) -> bytes:
    """Read notebook *path* from the submitter's own server through its contents API, with their token."""
    token = handler.hub_auth.get_token(handler)
    if not token:
        raise SubmissionError("no hub token to read your server with: sign in again", 403)
    server = user_server_url(user["name"], handler.gallery.public_hub_url,
                             base_url=os.environ.get("JUPYTERHUB_BASE_URL", "/"))
    url = f"{server}api/contents/{quote(path)}?content=1&type=file&format=text"
    try:
        response = await AsyncHTTPClient().fetch(
            url, headers={"Authorization": f"token {token}"}, request_timeout=30, follow_redirects=False
        )
    except HTTPClientError as e:
        if e.code == 404:
            raise SubmissionError(f"there is no notebook {path!r} on your server: check the path", 404) from None
        if e.code == 400:
            raise NotebookRejected(f"not a notebook (not text): your server cannot read {path!r} as text") from None
        if e.code in (301, 302, 303, 307, 424, 502, 503):  # the hub or the proxy answered: no server running
            raise SubmissionError(
                "your lab is not running, so the gallery cannot read your notebook: open 'Your lab' (the link "
                "at the top), start your server, then submit again", 409) from None
        raise SubmissionError(
            f"your server could not give the gallery {path!r} (it answered HTTP {e.code}): open 'Your lab', "
            "check that the notebook opens there, then submit again", 409) from None
    except OSError as e:
        raise SubmissionError(f"could not reach your server ({e}): start it from the hub home page", 409) from None
    return (json.loads(response.body).get("content") or "").encode()


async def create_submission(gallery, author: str, body: dict,
                            fetch_notebook: Callable[[str], Awaitable[bytes]] | None = None) -> dict:
    """Validate *body* (contract 4's POST), read the notebook, store it durably and schedule the checks.

    *fetch_notebook(path)* reads a notebook from the submitter's own server (for ``"path"``). What is stored,
    checked and published is the notebook without its ``author-only`` cells: what officials will see. A remix
    (``backstage.based_on`` in its metadata) is stored with the approved dashboard version it is based on.
    """
    title, summary, topics = clean_fields(body)
    idea = clean_idea(body.get("idea"))
    if "notebook" in body and "path" in body:
        raise SubmissionError("send either 'notebook' or 'path', not both")
    if "notebook" in body:
        notebook = body["notebook"]
        if not isinstance(notebook, (dict, str)):
            raise NotebookRejected("'notebook' must be the notebook's JSON (nbformat 4)")
        raw = notebook
    elif "path" in body and fetch_notebook is not None:
        raw = await fetch_notebook(check_server_path(body["path"]))
    elif "path" in body:
        raise SubmissionError("a notebook path can only be read from your own server: send 'notebook' instead")
    else:
        raise SubmissionError("send the notebook as 'notebook' (nbformat 4 JSON) or its 'path' on your server")
    nb, _, _ = validate_notebook(raw, gallery.checks.max_notebook_bytes)
    view = dashboard_view(nb)
    if not any(cell.cell_type == "code" for cell in view.cells) and any(cell.cell_type == "code" for cell in nb.cells):
        raise SubmissionError("every code cell is tagged 'author-only': leave the dashboard's own cells untagged")
    _, canonical, sha256 = validate_notebook(nbformat.writes(view), gallery.checks.max_notebook_bytes)
    item = gallery.store.add(author=author, title=title, summary=summary, topics=topics, notebook=canonical,
                             sha256=sha256, idea=idea, based_on=based_on_of(view, gallery.store))
    gallery.checks.schedule(item["id"])
    return item
