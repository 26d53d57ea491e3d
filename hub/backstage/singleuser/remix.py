"""Remix in my lab, on the person's own server: ``<base_url>backstage/remix?dashboard=<slug>&version=<n>``.

The gallery's "Remix in my lab" button leads here through the hub (``/hub/user-redirect/...``), so it opens on
the viewer's own server whatever its address; JupyterHub lets only its owner (and the admin) in.

- ``GET`` asks the person to confirm ("Copy '<title>' v3 into your lab?"): a form with jupyter_server's XSRF field.
- ``POST`` fetches the notebook from the gallery with this server's own token (``$JUPYTERHUB_API_TOKEN``, which
  carries ``access:services!service=gallery``) at ``$BACKSTAGE_GALLERY_API``; the gallery counts the remix and
  gives the approved snapshot with its ``backstage.based_on`` note (see ``backstage.gallery.remix``). It is
  written as ``remixes/<slug>-v<n>.ipynb`` in the server's root folder, never over a file (``-2``, ``-3``, ...),
  never through a link (``O_CREAT | O_EXCL | O_NOFOLLOW`` under a folder opened with ``O_NOFOLLOW``, as
  ``backstage.starters`` copies the starter notebooks), then the person lands in JupyterLab on it.

The gallery has no write access to anyone's server: the copy is made by the person's own server, as them.
"""

from __future__ import annotations

import errno
import json
import os
from html import escape
from urllib.parse import quote

import nbformat
from jupyter_server.auth.decorator import authorized
from jupyter_server.base.handlers import JupyterHandler
from jupyter_server.utils import url_path_join
from tornado import web
from tornado.httpclient import AsyncHTTPClient

from backstage.gallery.client import API_ENV, TOKEN_ENV
from backstage.gallery.remix import AGAIN, RemixError, check_version
from backstage.gallery.store import StoreError, check_slug

__all__ = ["FOLDER", "PATH", "RemixHandler", "add_handlers", "write_new_copy"]

PATH = "backstage/remix"
FOLDER = "remixes"
MAX_COPIES = 999


def write_new_copy(root: str | os.PathLike, folder: str, stem: str, data: bytes) -> str:
    """Write *data* as ``<root>/<folder>/<stem>.ipynb`` (or ``<stem>-2.ipynb``, ``-3``... when taken); return the name.

    Nothing is overwritten and no link is followed: the folder is made if missing and opened with ``O_NOFOLLOW``
    (a link or a file named like it raises ``NotADirectoryError``), the file is created with ``O_EXCL | O_NOFOLLOW``.
    """
    root_fd = os.open(root, os.O_RDONLY | os.O_DIRECTORY)
    try:
        try:
            os.mkdir(folder, 0o755, dir_fd=root_fd)
        except FileExistsError:
            pass
        try:
            folder_fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW, dir_fd=root_fd)
        except OSError as e:
            if e.errno in (errno.ELOOP, errno.ENOTDIR):
                raise NotADirectoryError(errno.ENOTDIR, "not a folder (a file or a link)", folder) from None
            raise
    finally:
        os.close(root_fd)
    try:
        for number in range(1, MAX_COPIES + 1):
            name = f"{stem}.ipynb" if number == 1 else f"{stem}-{number}.ipynb"
            try:
                fd = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644, dir_fd=folder_fd)
            except FileExistsError:
                continue
            with os.fdopen(fd, "wb") as out:
                out.write(data)
            return name
    finally:
        os.close(folder_fd)
    raise FileExistsError(errno.EEXIST, f"{MAX_COPIES} copies are there already", f"{folder}/{stem}.ipynb")


def _page(title: str, body: str) -> str:
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)} – Government Backstage</title>"
        "<style>body{font-family:Arial,sans-serif;margin:0;color:#0b0c0c;line-height:1.4}"
        "header{background:#0b0c0c;color:#fff;padding:10px 2rem;font-weight:700}"
        "main{max-width:40rem;padding:1rem 2rem}h1{font-size:2rem}"
        "button{background:#00703c;color:#fff;border:0;box-shadow:0 2px 0 #002d18;font-size:1.1rem;"
        "padding:8px 12px;cursor:pointer;margin-right:1rem}button:focus,a:focus{outline:3px solid #fd0}"
        "a{color:#1d70b8}code{font-size:1rem}</style></head><body>"
        "<header>Government Backstage</header>"
        f"<main>{body}</main></body></html>"
    )


class RemixHandler(JupyterHandler):
    """The confirmation page (GET) and the copy (POST); see the module's docstring."""

    auth_resource = "contents"

    def _target(self) -> tuple[str, str]:
        slug, version = self.get_argument("dashboard", ""), self.get_argument("version", "")
        try:
            return check_slug(slug), str(check_version(version))
        except (StoreError, RemixError) as e:
            raise web.HTTPError(400, "%s", str(e) if isinstance(e, RemixError) else f"{e}: {AGAIN}") from None

    async def _from_gallery(self, path: str) -> dict:
        """``GET <gallery API>/<path>`` with this server's own token; HTTP errors carry the gallery's message."""
        token, api = os.environ.get(TOKEN_ENV), os.environ.get(API_ENV)
        if not token or not api:
            raise web.HTTPError(503, "this server does not know where the gallery is (it started before the "
                                     "gallery existed): stop and start it from the hub's home page, then try again")
        response = await AsyncHTTPClient().fetch(
            api.rstrip("/") + "/" + path, headers={"Authorization": f"token {token}"}, request_timeout=60,
            follow_redirects=False, raise_error=False)
        if response.code == 599:
            raise web.HTTPError(502, "the gallery is not answering: try again in a minute, or tell an organiser")
        try:
            answer = json.loads(response.body or b"{}")
        except ValueError:
            answer = {}
        if response.code != 200 or not isinstance(answer, dict):
            message = (answer.get("error") if isinstance(answer, dict) else None) or f"HTTP {response.code}"
            status = response.code if response.code in (400, 403, 404) else 502
            raise web.HTTPError(status, "%s", f"the gallery refused: {message}")
        return answer

    def write_error(self, status_code: int, **kwargs) -> None:
        """Our own page with the message (jupyter_server's 404 page would drop it)."""
        exc = kwargs.get("exc_info", (None, None, None))[1]
        message = exc.log_message % exc.args if isinstance(exc, web.HTTPError) and exc.log_message else ""
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.finish(_page("Remix", f"<h1>The copy was not made</h1><p>{escape(message or self._reason)}</p>"
                                   f'<p><a href="{escape(self.base_url)}lab">Go to your lab</a></p>'))

    @web.authenticated
    @authorized
    async def get(self):
        slug, version = self._target()
        info = await self._from_gallery(f"dashboards/{slug}/versions/{version}")
        title, author = str(info.get("title", slug)), str(info.get("author", ""))
        stem = f"{FOLDER}/{slug}-v{version}"
        body = (
            f"<h1>Copy “{escape(title)}” v{escape(version)} into your lab?</h1>"
            f"<p>The notebook behind the dashboard by {escape(author)}, as the gallery approved it, with its "
            f"outputs, is saved as <code>{escape(stem)}.ipynb</code> in your home (or <code>{escape(stem)}-2.ipynb</code> "
            "and so on, if you have one already: nothing of yours is replaced). It notes what it is based on, so "
            "when you submit your version the gallery shows it.</p>"
            f'<form method="post" action="{escape(self.request.path)}">{self.xsrf_form_html()}'
            f'<input type="hidden" name="dashboard" value="{escape(slug)}">'
            f'<input type="hidden" name="version" value="{escape(version)}">'
            "<button type=\"submit\">Copy into my lab</button>"
            f'<a href="{escape(str(info.get("url", "")))}">Cancel, back to the dashboard</a></form>'
        )
        self.set_header("Cache-Control", "no-store")
        self.finish(_page(f"Remix {title}", body))

    @web.authenticated
    @authorized
    async def post(self):
        slug, version = self._target()
        answer = await self._from_gallery(f"dashboards/{slug}/versions/{version}/notebook")
        try:
            nb = nbformat.from_dict(answer)
            nbformat.validate(nb, version=4)
            based_on = nb.metadata["backstage"]["based_on"]
            if based_on["slug"] != slug or str(based_on["version"]) != version:
                raise ValueError(f"it is based on {based_on['slug']!r} v{based_on['version']}")
        except (ValueError, KeyError, TypeError, nbformat.ValidationError) as e:
            self.log.error("the gallery's notebook for %s v%s is not a remix of it: %s", slug, version, e)
            raise web.HTTPError(502, "the gallery sent something that is not this dashboard's notebook: tell an "
                                     "organiser") from None
        data = nbformat.writes(nb).encode()
        try:
            name = write_new_copy(self.contents_manager.root_dir, FOLDER, f"{slug}-v{version}", data)
        except NotADirectoryError:
            raise web.HTTPError(409, f"'{FOLDER}' in your home is a file or a link, not a folder: rename it, then "
                                     "press 'Copy into my lab' again") from None
        except OSError as e:
            raise web.HTTPError(507 if e.errno in (errno.ENOSPC, errno.EDQUOT) else 409,
                                f"the copy could not be saved in '{FOLDER}' ({e.strerror or e}): make room or "
                                "tidy that folder, then try again") from None
        self.log.info("remixed %s v%s into %s/%s", slug, version, FOLDER, name)
        self.redirect(url_path_join(self.base_url, "lab", "tree", FOLDER, quote(name)))


def add_handlers(serverapp) -> None:
    """Serve :class:`RemixHandler` at ``<base_url>backstage/remix`` on this server."""
    route = url_path_join(serverapp.web_app.settings["base_url"], PATH)
    serverapp.web_app.add_handlers(".*$", [(route, RemixHandler)])
