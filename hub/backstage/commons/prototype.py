""""Start a prototype": the participant's own lab opens with a notebook that already loads the challenge's data.

The notebook is written through their server's contents API with their own OAuth token (the commons'
tokens may reach the viewer's *own* server only: ``access:servers!user``); the page then links to it in their
lab. A server that is not running is started through the hub's API with their token (``servers!user``).
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
from urllib.parse import quote

import nbformat
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from . import store
from .base import CommonsPageHandler

log = logging.getLogger(__name__)
FOLDER = "prototypes"
START_WAIT = 90  # seconds to wait for a person's server to start (3-8 s here, more when a room starts at once)


def prototype_notebook(challenge: dict, idea: dict) -> dict:
    """A notebook that loads every dataset of the challenge with ``govdata``, with its attribution."""
    loads = "\n".join(f"{name} = govdata.load({d!r})" for name, d in
                      ((f"data_{i + 1}", d) for i, d in enumerate(challenge["datasets"])))
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell(f"# Prototype: {idea['title']}\n\nFor the challenge **{challenge['title']}**. "
                                      "When it works, submit it to the gallery naming this idea "
                                      f"(idea {idea['id']}), so the idea lists your dashboard."),
        nbformat.v4.new_code_cell("import govdata\n\n" + (loads or "# this challenge names no datasets: "
                                                            "try govdata.datasets()")),
        nbformat.v4.new_code_cell("govdata.attribution()"),
    ]
    return json.loads(nbformat.writes(nb))


class PrototypePage(CommonsPageHandler):
    async def own_server(self, client, auth: dict, name: str) -> dict | None:
        """The viewer's default server, started through the hub's API if needed (their own token, scope
        ``servers!user``); None if it is not ready within :data:`START_WAIT` seconds."""
        api = self.hub_auth.api_url
        deadline = time.monotonic() + START_WAIT
        asked = False
        while True:
            model = json.loads((await client.fetch(api + "/user", headers=auth)).body)
            server = (model.get("servers") or {}).get("")
            if server and server.get("ready"):
                return server
            if not asked and not (server and server.get("pending")):
                try:
                    await client.fetch(f"{api}/users/{quote(name)}/server", method="POST", headers=auth, body="{}")
                except HTTPClientError as e:
                    if e.code != 400:  # 400: already starting
                        log.warning("could not start %s's server: %s", name, e)
                        return None
                asked = True
            if time.monotonic() > deadline:
                return None
            await asyncio.sleep(1)

    async def post(self, idea_id):
        user = self.require_user()
        idea = store.get_idea(self.db, int(idea_id))
        challenge = store.get_challenge(self.db, idea["challenge_id"])
        token = self.hub_auth.get_token(self) or ""
        client = AsyncHTTPClient()
        auth = {"Authorization": f"token {token}"}
        server = await self.own_server(client, auth, user["name"])
        if server is None:
            return self.render_page("prototype.html", idea=idea, challenge=challenge, open_url=None,
                                    home_url=f"{self.commons.hub_url}home")
        base = server["url"] if "://" in server["url"] else f"{self.request.protocol}://{self.request.host}{server['url']}"
        path = f"{FOLDER}/idea-{idea['id']}.ipynb"
        try:
            await client.fetch(f"{base}api/contents/{FOLDER}", method="PUT", headers=auth,
                               body=json.dumps({"type": "directory"}), follow_redirects=False)
            try:
                await client.fetch(f"{base}api/contents/{path}?content=0", headers=auth, follow_redirects=False)
            except HTTPClientError as e:
                if e.code != 404:
                    raise
                body = {"type": "notebook", "format": "json", "content": prototype_notebook(challenge, idea)}
                await client.fetch(f"{base}api/contents/{path}", method="PUT", headers=auth, body=json.dumps(body),
                                   follow_redirects=False)
        except (HTTPClientError, OSError) as e:
            log.warning("could not write %s into %s's lab: %s", path, user["name"], e)
            raise web.HTTPError(502, "your lab did not accept the prototype notebook: open your lab, then try again") from None
        # a page with a link, not a redirect: the lab is another origin, and the pages' CSP (form-action 'self')
        # stops a form post from being redirected there
        self.render_page("prototype.html", idea=idea, challenge=challenge, spawn_url=None,
                         open_url=f"{base}lab/tree/{path}", path=path)


def init_store(db) -> None:
    """Prototypes live in people's labs and in the gallery, not here."""


def routes(prefix: str) -> list[tuple]:
    return [(prefix + r"ideas/(\d{1,12})/prototype", PrototypePage)]
