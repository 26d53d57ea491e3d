"""What the lab's web services (the commons, and the gallery as it moves over) share.

- :mod:`.app`: the base of a managed service's app (where it listens, its prefix, building it from config);
- :mod:`.auth`: a hub-OAuth base handler that resolves the viewer before every request and knows their scopes;
- :mod:`.api`: JSON in, JSON out, errors as ``{"error": ..., "status": ...}``;
- :mod:`.pages`: pages on GOV.UK Frontend (one layout, ``templates/base.html``), XSRF fields that render as HTML;
- :mod:`.store`: SQLite in WAL mode with durable commits, and durable file writes.
"""

from .api import APIHandler
from .app import HubServiceApp
from .auth import HubUserHandler
from .pages import PageHandler, asset_routes, make_jinja_env
from .store import connect, fsync_dir, transaction, write_durably

__all__ = ["APIHandler", "HubServiceApp", "HubUserHandler", "PageHandler", "asset_routes", "connect", "fsync_dir",
           "make_jinja_env", "transaction", "write_durably"]
