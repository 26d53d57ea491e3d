"""Submit a notebook to the gallery from a notebook cell, with the lab server's own token.

::

    from backstage.gallery.client import submit
    submit("06-build-a-dashboard.ipynb", "Deprivation by district", "Where the IMD 2019 scores are highest",
           topics=["deprivation"], idea=12)
    # {'id': '…', 'status': 'checking', 'url': 'http://…/services/gallery/submissions/…'}

No personal token is pasted anywhere: the hub gives every server ``$JUPYTERHUB_API_TOKEN`` (which carries
``access:services!service=gallery`` for people in the lab's groups) and ``$BACKSTAGE_GALLERY_API`` (where the
gallery's API answers). Save the notebook first: the file on disk is what is sent. Tag this cell
``author-only`` so the dashboard leaves it out.
"""

from __future__ import annotations

import json
import logging
import os
import urllib.error
import urllib.request
from pathlib import Path

__all__ = ["GalleryError", "submit"]

log = logging.getLogger(__name__)

TOKEN_ENV = "JUPYTERHUB_API_TOKEN"  # noqa: S105 (the variable's name, not a secret)
API_ENV = "BACKSTAGE_GALLERY_API"


class GalleryError(RuntimeError):
    """The gallery could not be reached or refused the submission; the message says why and what to do."""


def _endpoint() -> tuple[str, str]:
    token, api = os.environ.get(TOKEN_ENV), os.environ.get(API_ENV)
    if not token or not api:
        missing = " and ".join(name for name, value in ((TOKEN_ENV, token), (API_ENV, api)) if not value)
        raise GalleryError(
            f"{missing} is not set: run this in a notebook on your own lab server (the hub sets both when it "
            "starts the server; a server started before the gallery existed needs a restart from the hub home page)"
        )
    if not api.startswith(("http://", "https://")):
        raise GalleryError(f"{API_ENV} must be an http(s) URL, not {api!r}: ask an organiser to fix the lab's settings")
    return token, api.rstrip("/") + "/"


def _read(path: str | os.PathLike) -> dict:
    file = Path(path).expanduser()
    try:
        text = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise GalleryError(f"there is no notebook {str(file)!r} (looked in {os.getcwd()}): check the name, and "
                           "save the notebook first (File > Save Notebook)") from None
    except (OSError, UnicodeDecodeError) as e:
        raise GalleryError(f"could not read {str(file)!r}: {e}") from None
    try:
        return json.loads(text)
    except ValueError as e:
        raise GalleryError(f"{str(file)!r} is not a notebook (not JSON): {e}") from None


def submit(path: str | os.PathLike, title: str, summary: str = "", topics=(), idea: int | str | None = None,
           *, timeout: float = 60) -> dict:
    """Send the saved notebook *path* to the gallery for review; return ``{"id", "status", "url"}``.

    Parameters
    ----------
    path
        The notebook file, relative to the notebook's own folder (where its kernel runs), e.g. ``"my.ipynb"``.
    title, summary, topics
        What the gallery card shows (title up to 120 characters; topics a list of words).
    idea
        The id of the commons idea this dashboard answers, if any.

    Raises
    ------
    GalleryError
        The file is missing or not a notebook, the gallery cannot be reached, or it refused the submission
        (the gallery's own message, which names the cause and the fix, is in the error).
    """
    token, api = _endpoint()
    body = {"title": title, "summary": summary, "topics": list(topics), "notebook": _read(path)}
    if idea is not None:
        body["idea"] = idea
    request = urllib.request.Request(  # noqa: S310 (http(s) only: checked in _endpoint)
        api + "submissions", data=json.dumps(body).encode(), method="POST",
        headers={"Authorization": f"token {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:  # noqa: S310 (http(s) only)
            answer = json.loads(response.read())
    except urllib.error.HTTPError as e:
        try:
            message = json.loads(e.read()).get("error") or e.reason
        except ValueError:
            message = e.reason
        raise GalleryError(f"the gallery refused the submission ({e.code}): {message}") from None
    except (urllib.error.URLError, OSError) as e:
        raise GalleryError(f"could not reach the gallery at {api} ({getattr(e, 'reason', e)}): is the lab "
                           "running its gallery? Ask an organiser") from None
    log.info("submitted %s to the gallery as %s", path, answer.get("id"))
    return {"id": answer["id"], "status": answer["status"], "url": answer.get("url", "")}
