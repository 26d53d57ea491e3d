""""Start a prototype": the participant's own lab opens with a notebook that already loads the challenge's data.

The notebook is written through their server's contents API with their own OAuth token (the commons'
tokens may reach the viewer's *own* server only: ``access:servers!user``). A server that is not running
sends them through the hub's spawn page, which brings them back here.
"""

from __future__ import annotations

import json
import logging
from urllib.parse import quote

import nbformat
from tornado import web
from tornado.httpclient import AsyncHTTPClient, HTTPClientError

from . import store
from .base import CommonsPageHandler

log = logging.getLogger(__name__)
FOLDER = "prototypes"


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
    async def post(self, idea_id):
        user = self.require_user()
        idea = store.get_idea(self.db, int(idea_id))
        challenge = store.get_challenge(self.db, idea["challenge_id"])
        token = self.hub_auth.get_token(self) or ""
        client = AsyncHTTPClient()
        auth = {"Authorization": f"token {token}"}
        model = json.loads((await client.fetch(self.hub_auth.api_url + "/user", headers=auth)).body)
        server = (model.get("servers") or {}).get("")
        if not server or not server.get("ready"):
            back = f"{self.request.protocol}://{self.request.host}{self.commons.prefix}ideas/{idea['id']}"
            self.redirect(f"{self.commons.hub_url}spawn/{quote(user['name'])}?next={quote(back, safe='')}")
            return
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
        self.redirect(f"{base}lab/tree/{path}")


def init_store(db) -> None:
    """Prototypes live in people's labs and in the gallery, not here."""


def routes(prefix: str) -> list[tuple]:
    return [(prefix + r"ideas/(\d{1,12})/prototype", PrototypePage)]
