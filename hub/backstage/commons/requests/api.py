"""The JSON API of data requests (contract 7) and of "Your updates", under the commons' prefix.

Handlers are thin: they turn the viewer and the body into plain data for the `Desk` and its answer
or `RequestError` into JSON. E-mails go out in a worker thread after the write has been acknowledged.
"""

from __future__ import annotations

import asyncio
import logging

from tornado import web

from ..base import CommonsAPIHandler
from .desk import Desk, Viewer
from .rules import RequestError
from .service import desk_for

log = logging.getLogger(__name__)


def send_mail_later(desk: Desk) -> None:
    """Send the e-mails the last write queued, in a worker thread (the answer does not wait for SMTP)."""
    if desk.pending_mail:
        future = asyncio.get_running_loop().run_in_executor(None, desk.send_pending_mail)
        future.add_done_callback(lambda f: f.exception() and log.error("e-mail sending failed: %s", f.exception()))


class RequestsMixin:
    @property
    def desk(self) -> Desk:
        return desk_for(self.commons)

    @property
    def viewer(self) -> Viewer:
        return Viewer.from_hub_user(self.current_user)

    def act(self, call, *args):
        """Run a desk call; a `RequestError` becomes an HTTP error with its status and message."""
        try:
            result = call(*args)
        except RequestError as e:
            raise web.HTTPError(e.status, str(e)) from None
        send_mail_later(self.desk)
        return result


class RequestsAPIHandler(RequestsMixin, CommonsAPIHandler):
    """``GET api/requests`` (``?sort=supporters|due``, ``?status=``), ``POST api/requests`` -> 201."""

    def get(self):
        sort = self.get_argument("sort", "supporters")
        status = self.get_argument("status", "")
        self.write_json({"requests": self.desk.listing(self.viewer, sort=sort, status=status)})

    def post(self):
        self.require_user()
        self.write_json(self.act(self.desk.file, self.viewer, self.json_body()), status=201)


class RequestAPIHandler(RequestsMixin, CommonsAPIHandler):
    def get(self, request_id):
        self.write_json(self.act(self.desk.get, self.viewer, request_id))


class SupportAPIHandler(RequestsMixin, CommonsAPIHandler):
    def post(self, request_id):
        self.require_user()
        self.write_json(self.act(self.desk.support, self.viewer, request_id, True))

    def delete(self, request_id):
        self.require_user()
        self.write_json(self.act(self.desk.support, self.viewer, request_id, False))


class AnswerAPIHandler(RequestsMixin, CommonsAPIHandler):
    async def post(self, request_id):
        self.require_user()
        self.write_json(await answer(self, request_id, self.json_body()))


async def answer(handler: RequestsMixin, request_id, body: dict) -> dict:
    """Check, verify (in a worker thread: it reads and may download the file) and record a steward's answer."""
    desk = handler.desk
    item, clean = handler.act(desk.prepare_answer, handler.viewer, request_id, body)
    await asyncio.get_running_loop().run_in_executor(None, handler.act, desk.verify_answer, clean)
    return handler.act(desk.record_answer, handler.viewer, item, clean)


class FiguresAPIHandler(RequestsMixin, CommonsAPIHandler):
    def get(self):
        self.write_json(self.desk.figures())


class UpdatesAPIHandler(RequestsMixin, CommonsAPIHandler):
    """``GET api/updates``: the signed-in person's own updates, newest first."""

    def get(self):
        user = self.require_user()
        self.write_json({"updates": self.desk.store.updates_for(user["name"])})


class DataProblemsAPIHandler(RequestsMixin, CommonsAPIHandler):
    """``GET api/data-problems``: published dashboards whose data failed the data check, and since when."""

    def get(self):
        problems = [{k: p[k] for k in ("slug", "title", "since", "checked", "datasets", "detail", "request_ids")}
                    for p in self.desk.store.problems()]
        self.write_json({"dashboards": problems})
