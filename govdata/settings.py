"""Settings for govdata, as traitlets, with defaults read from the environment at use (never at import)."""

from __future__ import annotations

import os
from pathlib import Path

import pooch
from traitlets import Float, Int, Unicode, default
from traitlets.config import Configurable


class GovdataSettings(Configurable):
    """Where govdata looks for data and how patiently it downloads.

    Each call to :func:`settings` builds a fresh instance, so a change to ``GOVDATA_MIRROR`` or
    ``GOVDATA_CACHE`` in a running notebook takes effect on the next ``fetch()`` or ``load()``.

    Examples
    --------
    >>> from govdata.settings import GovdataSettings
    >>> GovdataSettings(timeout=5.0).timeout
    5.0
    """

    mirror = Unicode(
        "",
        help="""Folder or http(s):// base URL holding the catalog files under their catalog file names,
        used instead of the public URLs (a hack-day USB stick or a venue server).
        Default: the GOVDATA_MIRROR environment variable. Example: GOVDATA_MIRROR=/media/usb/govdata""",
    ).tag(config=True)

    cache_dir = Unicode(
        help="""Folder for verified downloads and parsed (Arrow IPC) tables. Default: GOVDATA_CACHE, else the
        user cache folder from pooch.os_cache('govdata'). Example: GOVDATA_CACHE=~/.cache/govdata""",
    ).tag(config=True)

    timeout = Float(
        help="""Seconds to wait for a server to connect or send more bytes before giving up on one attempt.
        Default: GOVDATA_TIMEOUT, else 30. Example: GOVDATA_TIMEOUT=10""",
    ).tag(config=True)

    retries = Int(
        help="""How many times a failed download (5xx, timeout, dropped connection) is retried before
        failing. Default: GOVDATA_RETRIES, else 3. Example: GOVDATA_RETRIES=5""",
    ).tag(config=True)

    backoff = Float(
        0.5,
        help="Seconds before the first retry; the wait doubles on each further retry (capped at 10 s).",
    ).tag(config=True)

    progressbar_min_bytes = Int(
        1_000_000,
        help="Show a tqdm progress bar for downloads of files at least this large (bytes); 0 for always.",
    ).tag(config=True)

    lock_timeout = Float(
        600.0,
        help="Seconds to wait for another process that is downloading the same file before failing.",
    ).tag(config=True)

    @default("mirror")
    def _default_mirror(self) -> str:
        return os.environ.get("GOVDATA_MIRROR", "")

    @default("timeout")
    def _default_timeout(self) -> float:
        return float(os.environ.get("GOVDATA_TIMEOUT", "30"))

    @default("retries")
    def _default_retries(self) -> int:
        return int(os.environ.get("GOVDATA_RETRIES", "3"))

    @default("cache_dir")
    def _default_cache_dir(self) -> str:
        return os.environ.get("GOVDATA_CACHE") or str(pooch.os_cache("govdata"))

    @property
    def cache_path(self) -> Path:
        """The cache folder as an expanded :class:`~pathlib.Path` (created on first use)."""
        path = Path(self.cache_dir).expanduser()
        path.mkdir(parents=True, exist_ok=True)
        return path


def settings(**overrides) -> GovdataSettings:
    """Return the settings in force now (environment read at this call), with ``overrides`` applied."""
    return GovdataSettings(**overrides)
