"""Fetching: verified downloads into the cache, through pooch, with retries, a timeout and a lock.

Inside a cross-process lock (filelock, so concurrent processes download once), :func:`pooch.retrieve`
streams a file to a temporary name beside its final place, checks its sha256 against the catalog, and
only then moves it into place, so a reader never sees half a file. A warm cache makes no network call.

Examples
--------
>>> import govdata
>>> path = govdata.fetch("lad21-region-lookup")  # doctest: +SKIP
>>> path.name  # doctest: +SKIP
'lad21_to_rgn21_lookup_england.csv'
"""

from __future__ import annotations

import logging
import os
import re
import shutil
import time
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import quote

import pooch
import requests
from filelock import FileLock

from .catalog import DatasetInfo, info
from .errors import DatasetUnavailableError, HashMismatchError
from .provenance import record
from .settings import GovdataSettings, settings

log = logging.getLogger(__name__)

__all__ = ["fetch", "fetch_file", "sha256_of"]

_RETRYABLE = (requests.ConnectionError, requests.Timeout, requests.exceptions.ChunkedEncodingError)
_MIRROR_HELP = (
    "If you are offline or the site is blocked, set GOVDATA_MIRROR to a folder or an http(s):// URL holding "
    "the catalog files (ask your organiser), e.g. in a notebook: "
    "import os; os.environ['GOVDATA_MIRROR'] = '/path/to/govdata-mirror'; then try again."
)


def sha256_of(path: Path) -> str:
    """Return the sha256 hex digest of a file."""
    return pooch.file_hash(str(path), alg="sha256")


def fetch(id: str) -> Path:  # noqa: A002 - public name from the contract
    """Return the local path of a dataset's source file, downloaded if needed and verified by sha256.

    Parameters
    ----------
    id : str
        A catalog id (see :func:`govdata.datasets`).

    Returns
    -------
    pathlib.Path
        A file in the cache (``GOVDATA_CACHE``) whose sha256 matches the catalog.

    Raises
    ------
    UnknownDatasetError
        The id is not in the catalog (the message suggests the nearest ids).
    HashMismatchError
        The downloaded file is not the one the catalog pins; nothing is left behind.
    DatasetUnavailableError
        No source could be reached and the cache has no verified copy; says how to set ``GOVDATA_MIRROR``.
    """
    entry = info(id)
    path = fetch_entry(entry)
    record(entry.provenance())
    return path


def _distributions(entry: DatasetInfo) -> list[dict]:
    """The files that may stand for this dataset: the pinned original first, then mirror-only ones."""
    first = {"file": entry.file, "sha256": entry.sha256, "size": entry.size, "url": entry.url}
    return [first, *({**d, "url": None} for d in entry.mirror_distributions)]


def fetch_entry(entry: DatasetInfo, conf: GovdataSettings | None = None) -> Path:
    """Fetch the source file of a catalog entry (see :func:`fetch`), without recording provenance."""
    conf = conf or settings()
    cache = conf.cache_path
    dists = _distributions(entry)
    for dist in dists:  # warm cache: no lock, no network
        cached = cache / dist["file"]
        if cached.exists() and sha256_of(cached) == dist["sha256"]:
            log.debug("govdata: %s is in the cache at %s", entry.id, cached)
            return cached
    failures: list[str] = []
    mirror = conf.mirror.strip()
    for dist in dists:
        if mirror:
            source = _mirror_location(mirror, dist["file"])
        elif dist["url"]:
            source = dist["url"]
        else:
            continue  # a mirror-only distribution, and no mirror set
        try:
            return fetch_file(source, cache / dist["file"], dist["sha256"], conf=conf, size=dist.get("size"))
        except FileNotFoundError as exc:
            failures.append(str(exc))
        except DatasetUnavailableError as exc:
            raise DatasetUnavailableError(
                f"Could not fetch dataset {entry.id!r} ({dist['file']}): {exc} "
                f"No verified copy is in the cache at {cache}. {_MIRROR_HELP}"
            ) from exc
    where = "; ".join(failures) or "no source"
    raise DatasetUnavailableError(
        f"Could not fetch dataset {entry.id!r} ({entry.file}): {where}. "
        f"No verified copy is in the cache at {cache}. {_MIRROR_HELP}"
    )


def _mirror_location(mirror: str, file: str) -> str:
    if mirror.startswith(("http://", "https://")):
        return mirror.rstrip("/") + "/" + quote(file)
    return str(Path(mirror).expanduser() / file)


def fetch_file(source: str, dest: Path, sha256: str | None, *, conf: GovdataSettings | None = None,
               size: int | None = None) -> Path:
    """Copy or download ``source`` (a path or an http(s) URL) to ``dest``, verified against ``sha256``.

    Inside a cross-process lock, :func:`pooch.retrieve` does the work: it streams the file (with a
    progress bar for large ones) to a temporary file beside ``dest``, checks its hash, and only then
    moves it into place, so a reader never sees half a file. A verified ``dest`` already present is
    returned at once. A ``dest`` whose hash is wrong (a corrupt cache) is deleted and fetched again.
    ``sha256=None`` accepts whatever arrives (for portal resources without a published hash).

    Raises
    ------
    FileNotFoundError
        The source does not exist (a 404 or a missing file in a mirror folder).
    HashMismatchError
        The fetched bytes do not match ``sha256``; the temporary file is deleted.
    DatasetUnavailableError
        The server failed, stalled or could not be reached after every retry.
    """
    conf = conf or settings()
    dest = Path(dest)
    dest.parent.mkdir(parents=True, exist_ok=True)
    if _verified(dest, sha256):
        return dest
    with FileLock(str(dest) + ".lock", timeout=conf.lock_timeout):
        if dest.exists():
            if _verified(dest, sha256):  # another process fetched it while we waited for the lock
                return dest
            log.warning("govdata: the cached %s is corrupt (hash mismatch); fetching it again", dest)
            dest.unlink()
        try:
            with _pooch_quiet():
                pooch.retrieve(source, known_hash=sha256, fname=dest.name, path=dest.parent,
                               downloader=_Downloader(conf, size))
        except ValueError as exc:  # pooch's hash check: "... expected X but got Y. Deleted download ..."
            raise HashMismatchError(
                f"{dest.name} from {source} does not match the catalog's sha256: {_pooch_hashes(exc)}. "
                "The download was deleted for safety; nothing was cached. The file may be truncated or "
                "tampered with: try again later, or use a trusted GOVDATA_MIRROR."
            ) from exc
        _readable_as_umask_allows(dest)  # pooch's temporary file is 0600; a mirror folder must stay readable
    log.info("govdata: fetched %s from %s", dest.name, source)
    return dest


def _verified(path: Path, sha256: str | None) -> bool:
    return path.exists() and (sha256 is None or sha256_of(path) == sha256)


def _pooch_hashes(exc: ValueError) -> str:
    """``expected X but got Y`` from pooch's hash-mismatch message (the whole message if it changes)."""
    found = re.search(r"expected \S+ but got \S+", str(exc))
    return found.group(0).rstrip(".") if found else str(exc)


@contextmanager
def _pooch_quiet():
    """Silence pooch's own INFO lines ("Downloading data from ...", printed to stderr in every notebook)."""
    logger = pooch.get_logger()
    level = logger.level
    logger.setLevel(max(level, logging.WARNING))
    try:
        yield
    finally:
        logger.setLevel(level)


def _readable_as_umask_allows(path: Path) -> None:
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(path, 0o666 & ~umask)


class _Downloader:
    """The downloader handed to :func:`pooch.retrieve`: pooch's own HTTP download with retries, or a copy.

    Pooch writes to a temporary file, then checks the hash and moves it into place; this only fills that
    file: a folder mirror is copied, an http(s) source is streamed by :class:`pooch.HTTPDownloader`
    (progress bar for files of ``progressbar_min_bytes`` or more), retried on 5xx, 429 and network errors.
    """

    def __init__(self, conf: GovdataSettings, size: int | None):
        self.conf, self.size = conf, size

    def __call__(self, source: str, output_file: str, pooch_instance) -> None:
        if not source.startswith(("http://", "https://")):
            if not Path(source).is_file():
                raise FileNotFoundError(f"{source} does not exist")
            shutil.copyfile(source, output_file)
            return
        conf = self.conf
        progress = self.size is None or self.size >= conf.progressbar_min_bytes
        http = pooch.HTTPDownloader(progressbar=progress, chunk_size=65536, timeout=conf.timeout)
        wait = conf.backoff
        for attempt in range(conf.retries + 1):
            try:
                http(source, output_file, pooch_instance)
                return
            except requests.HTTPError as exc:
                status = exc.response.status_code if exc.response is not None else 0
                if status == 404:
                    raise FileNotFoundError(f"{source} answered 404 Not Found") from exc
                if status < 500 and status != 429:
                    raise DatasetUnavailableError(f"{source} answered HTTP {status}; check the URL") from exc
                reason = f"HTTP {status}"
            except _RETRYABLE as exc:
                reason = f"{type(exc).__name__}: {exc}"
            if attempt == conf.retries:
                raise DatasetUnavailableError(
                    f"{source} failed {attempt + 1} times (last: {reason}; timeout {conf.timeout:g} s)."
                )
            log.warning("govdata: %s failed (%s); retry %d of %d in %.1f s", source, reason, attempt + 1,
                        conf.retries, wait)
            time.sleep(wait)
            wait = min(wait * 2, 10.0)
