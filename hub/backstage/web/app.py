"""The base of a hub-managed web service: where it listens, its URL prefix, and building it from config."""

from __future__ import annotations

import os

from traitlets import Unicode, default
from traitlets.config import Application


class HubServiceApp(Application):
    """A JupyterHub managed service: it reads only the ``JUPYTERHUB_*`` environment the hub injects."""

    service_url = Unicode(
        help="""Where the service listens (default: $JUPYTERHUB_SERVICE_URL).
        Example: --CommonsApp.service_url=http://127.0.0.1:10104/services/commons/""",
    ).tag(config=True)

    @default("service_url")
    def _default_service_url(self):
        return os.environ.get("JUPYTERHUB_SERVICE_URL", f"http://127.0.0.1:10100/services/{self.service_name}/")

    prefix = Unicode(
        help="URL prefix of the service (default: $JUPYTERHUB_SERVICE_PREFIX). Example: /services/commons/",
    ).tag(config=True)

    @default("prefix")
    def _default_prefix(self):
        return os.environ.get("JUPYTERHUB_SERVICE_PREFIX", f"/services/{self.service_name}/")

    #: the service's name in the hub (``services/<name>/``)
    service_name = "service"

    @classmethod
    def configured(cls, argv: list[str] | None = None, **config):
        """A configured (not yet started) app: command-line *argv*, then *config* (``Section={"trait": value}``).

        No config file is read: the hub's service entry passes what differs from the defaults.
        """
        app = cls()
        app.load_config_file = lambda *a, **k: None
        app.parse_command_line(argv or [])
        for section, values in config.items():
            for key, value in values.items():
                app.config[section][key] = value
        app.update_config(app.config)
        return app
