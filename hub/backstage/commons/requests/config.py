"""Settings of the data requests, as traits whose defaults come from the site settings (read at use).

Site settings (``settings.yaml``)::

    requests:
      working_days: 20                  # the promise: a first answer within this many working days
      stewards:                         # optional: limit stewards to some publishers
        ada: ["Office for National Statistics"]
      check_every_hours: 24             # the data check's period in the commons service (0: never)
    notify:
      smtp: {host: mail.example.org, port: 587, from: lab@example.org, starttls: true}
"""

from __future__ import annotations

import logging
import os

from traitlets import Dict, Float, Int, Unicode, default
from traitlets.config import LoggingConfigurable

log = logging.getLogger(__name__)

__all__ = ["RequestsConfig", "site_settings"]


def site_settings() -> dict:
    """The lab's site settings (defaults ▸ settings.yaml ▸ the launcher's runtime settings)."""
    from backstage.settings import load_settings

    return load_settings()


class RequestsConfig(LoggingConfigurable):
    """How data requests are answered and announced."""

    working_days = Int(
        help="""Working days (England and Wales) the stewards have to answer a request; site setting
        requests.working_days, default 20. Example: --RequestsConfig.working_days=15""",
    ).tag(config=True)

    steward_publishers = Dict(
        help="""Stewards limited to some publishers: {steward: [publisher name, ...]}; a request's publisher must
        start with one of the names (case ignored). Stewards not listed answer for every publisher. Site setting
        requests.stewards. Example: --RequestsConfig.steward_publishers='{"ada": ["HM Land Registry"]}'""",
    ).tag(config=True)

    smtp = Dict(
        help="""SMTP server for e-mail updates (site setting notify.smtp): host, port, from, starttls; empty sends
        no e-mail. Example: --RequestsConfig.smtp='{"host": "mail.example.org", "port": 587, "from": "lab@example.org",
        "starttls": true}'""",
    ).tag(config=True)

    check_every_hours = Float(
        help="""Hours between two runs of the data check in the commons service (0: never; `backstage data check`
        runs it on demand). Site setting requests.check_every_hours, default 24.
        Example: --RequestsConfig.check_every_hours=6""",
    ).tag(config=True)

    site_url = Unicode(
        help="""The lab's public address, for links in e-mails. Default: $BACKSTAGE_PUBLIC_URL, else
        http://127.0.0.1:<port>. Example: --RequestsConfig.site_url=https://lab.example.org""",
    ).tag(config=True)

    state_dir = Unicode(help="The lab's state folder (default: the site settings' state_dir).").tag(config=True)

    def _site(self) -> dict:
        if not hasattr(self, "_site_cache"):
            self._site_cache = site_settings()
        return self._site_cache

    def _requests(self) -> dict:
        return self._site().get("requests") or {}

    @default("working_days")
    def _default_working_days(self):
        return int(self._requests().get("working_days", 20))

    @default("steward_publishers")
    def _default_steward_publishers(self):
        return dict(self._requests().get("stewards") or {})

    @default("check_every_hours")
    def _default_check_every_hours(self):
        return float(self._requests().get("check_every_hours", 24))

    @default("smtp")
    def _default_smtp(self):
        return dict((self._site().get("notify") or {}).get("smtp") or {})

    @default("site_url")
    def _default_site_url(self):
        return os.environ.get("BACKSTAGE_PUBLIC_URL") or f"http://127.0.0.1:{self._site().get('port', 8000)}"

    @default("state_dir")
    def _default_state_dir(self):
        return self._site()["state_dir"]
