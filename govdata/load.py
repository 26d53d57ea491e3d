"""Loading: fetch, tidy with the dataset's recipe, and cache the parsed result (Arrow IPC, see
:mod:`govdata.arrowcache` for why not Parquet).

The parsed file is keyed by the source's sha256 and the recipe's version, so a warm ``load()`` reads one
Arrow file (no source parsing, no hashing, no network) and a changed source or recipe is never
served stale.

Examples
--------
>>> import govdata
>>> lookup = govdata.load("lad21-region-lookup")  # doctest: +SKIP
>>> lookup["RGN21NM"].nunique()  # doctest: +SKIP
9
"""

from __future__ import annotations

import logging
import os
import uuid
from pathlib import Path

from filelock import FileLock

from .arrowcache import forget, read_frame, write_frame
from .catalog import DatasetInfo, info
from .fetch import fetch_entry
from .provenance import record
from .recipes import recipe_version, run_recipe
from .settings import settings

log = logging.getLogger(__name__)

__all__ = ["load", "parsed_path"]


def parsed_path(entry: DatasetInfo, cache: Path) -> Path:
    """Where the parsed result of ``entry`` lives: keyed by source sha256 and recipe version."""
    return cache / "parsed" / f"{entry.id}-{entry.sha256[:16]}-{recipe_version(entry)}.arrow"


def load(id: str):  # noqa: A002 - public name from the contract
    """Load a dataset as an analysis-ready ``pandas.DataFrame`` (or ``geopandas.GeoDataFrame``).

    The first call fetches and verifies the source file and applies the dataset's tidy-up recipe; the
    result is cached (Arrow IPC), so later calls (in any process) read it back in milliseconds.

    Parameters
    ----------
    id : str
        A catalog id (see :func:`govdata.datasets`).

    Returns
    -------
    pandas.DataFrame or geopandas.GeoDataFrame
        Codes as strings, repetitive text as categoricals, numbers as numbers; boundaries in EPSG:4326.

    Examples
    --------
    >>> import govdata
    >>> imd = govdata.load("imd-2019-lad21")  # doctest: +SKIP
    >>> imd.shape  # doctest: +SKIP
    (309, 25)
    """
    entry = info(id)
    df = _load_entry(entry)
    df.attrs["govdata_ids"] = [entry.id]  # lets maps credit the right source
    record(entry.provenance())
    return df


def _load_entry(entry: DatasetInfo):
    conf = settings()
    target = parsed_path(entry, Path(conf.cache_dir).expanduser())  # no mkdir on the warm path
    cached = _read_parsed(target, entry)
    if cached is not None:
        return cached
    target.parent.mkdir(parents=True, exist_ok=True)
    with FileLock(str(target) + ".lock", timeout=conf.lock_timeout):
        cached = _read_parsed(target, entry)
        if cached is not None:
            return cached
        source = fetch_entry(entry, conf)
        df = run_recipe(source, entry, lambda other: _load_entry(info(other)))
        tmp = target.with_name(f".{target.name}.{uuid.uuid4().hex}.part")
        try:
            write_frame(df, tmp)
            os.replace(tmp, target)
        finally:
            tmp.unlink(missing_ok=True)
    log.info("govdata: parsed %s into %s", entry.id, target)
    return df


def _read_parsed(path: Path, entry: DatasetInfo):
    if not path.exists():
        return None
    try:
        return read_frame(path)
    except Exception as exc:  # noqa: BLE001 - any unreadable cache file is rebuilt, never trusted
        log.warning("govdata: the parsed cache %s is unreadable (%s); rebuilding it", path, exc)
        forget(path)
        path.unlink(missing_ok=True)
        return None
