"""``GET <prefix>metrics``: the gallery's figures in Prometheus' text format, for a hub token with the scope.

Protected as JupyterHub protects ``/hub/metrics`` (``authenticate_prometheus``): the caller's hub token must carry
``Usage.metrics_scope`` (``read:metrics`` by default, held by the admin role). A browser session's OAuth token
never carries it (the gallery's OAuth client does not ask for it), so scrape with a token, e.g. Prometheus'
``authorization: {type: token, credentials: <hub token with read:metrics and access:services!service=gallery>}``.
"""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from tornado import web

from .handlers import APIHandler


class MetricsHandler(APIHandler):
    """Errors as JSON naming the scope (the API's base); the figures as Prometheus text."""

    def get(self):
        usage = self.settings.get("usage")
        if usage is None:
            raise web.HTTPError(404, "usage counting is not set up in this gallery")
        scope = usage.metrics_scope
        if not self.has_scope(scope):
            raise web.HTTPError(403, f"reading the gallery's metrics needs a hub token with the scope {scope} "
                                     "(and access:services!service=gallery): make one on the hub's token page as admin")
        self.set_header("Content-Type", CONTENT_TYPE_LATEST)
        self.set_header("Cache-Control", "no-store")
        self.finish(generate_latest(usage.registry))
