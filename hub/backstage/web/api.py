"""JSON API handlers: JSON in, JSON out, errors as ``{"error": message, "status": code}``, never a redirect."""

from __future__ import annotations

import json
from http import HTTPStatus

from tornado import web

from .auth import SIGN_IN_FIRST, HubUserHandler


def error_message(status_code: int, kwargs: dict) -> str:
    """The message of the ``HTTPError`` being reported (its ``log_message``), else the status phrase."""
    exc = kwargs.get("exc_info", (None, None))[1]
    return getattr(exc, "log_message", None) or HTTPStatus(status_code).phrase


class APIHandler(HubUserHandler):
    """Base of a JSON API: a cookie-authenticated write without XSRF resolves to no user (hub-auth layer)."""

    def get_login_url(self):
        raise web.HTTPError(403, SIGN_IN_FIRST)

    def check_xsrf_cookie(self):
        return self.hub_auth.check_xsrf_cookie(self)

    def json_body(self) -> dict:
        """The request body as a JSON object, or a 400 saying what is wrong with it."""
        try:
            body = json.loads(self.request.body or b"{}")
        except ValueError as e:
            raise web.HTTPError(400, f"the request body is not JSON: {e}") from None
        if not isinstance(body, dict):
            raise web.HTTPError(400, "the request body must be a JSON object")
        return body

    def write_json(self, data, status: int = 200):
        self.set_status(status)
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps(data))

    def write_error(self, status_code, **kwargs):
        self.set_header("Content-Type", "application/json; charset=utf-8")
        self.finish(json.dumps({"error": error_message(status_code, kwargs), "status": status_code}))
