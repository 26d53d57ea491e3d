"""Mirrors: copy into a folder exactly the files a GOVDATA_MIRROR must hold for some datasets.

A mirror holds each dataset's source file under its catalog file name, except where the catalog lists a
mirror distribution: the AURN site list's original carries Address and Postcode columns geocoded with
the Google Geocoding API, which are not open data, so a mirror carries the open-columns file instead
(made from the original by the dataset's recipe when only the original is at hand).

Examples
--------
>>> import govdata
>>> [p.name for p in govdata.mirror_copy("aurn-sites-2020", "/media/usb/govdata")]  # doctest: +SKIP
['defra_aurn_sites_2020.csv']
"""

from __future__ import annotations

import logging
import os
import shutil
import uuid
from pathlib import Path

from .catalog import DatasetInfo, info
from .errors import HashMismatchError
from .fetch import fetch_entry, sha256_of
from .recipes import run_recipe

log = logging.getLogger(__name__)

__all__ = ["mirror_copy", "mirror_distribution"]

_TERMINATORS = {"crlf": "\r\n", "lf": "\n"}


def mirror_distribution(entry: DatasetInfo) -> dict:
    """The file a mirror must carry for ``entry``: ``{"file", "sha256", ...}``."""
    if entry.mirror_distributions:
        return entry.mirror_distributions[0]
    return {"file": entry.file, "sha256": entry.sha256, "size": entry.size}


def _with_requirements(id: str, seen: list[str]) -> list[str]:  # noqa: A002
    entry = info(id)
    for other in entry.requires:
        if other not in seen:
            _with_requirements(other, seen)
    if entry.id not in seen:
        seen.append(entry.id)
    return seen


def mirror_copy(id: str, folder: str | os.PathLike) -> list[Path]:  # noqa: A002
    """Put into ``folder`` the verified file(s) a mirror needs for dataset ``id``.

    The datasets its recipe needs come too (``ukhpi-2021-03`` needs ``ons-population-mid2021`` and
    ``imd-2019-lad19`` for its codes). Files already there with the right hash are left alone.

    Parameters
    ----------
    id : str
        A catalog id.
    folder : path
        The mirror folder (created if needed); point ``GOVDATA_MIRROR`` at it (or serve it over http).

    Returns
    -------
    list of pathlib.Path
        The mirror files for ``id`` and its requirements.

    Raises
    ------
    HashMismatchError
        A file (or the open-columns copy made from an original) does not match the catalog; nothing is left.
    """
    entries = [info(i) for i in _with_requirements(id, [])]  # unknown ids fail before anything is written
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    return [_copy_one(entry, folder) for entry in entries]


def _copy_one(entry: DatasetInfo, folder: Path) -> Path:
    dist = mirror_distribution(entry)
    dest = folder / dist["file"]
    if dest.exists() and sha256_of(dest) == dist["sha256"]:
        return dest
    source = fetch_entry(entry)
    tmp = dest.with_name(f".{dest.name}.{uuid.uuid4().hex}.part")
    try:
        if sha256_of(source) == dist["sha256"]:
            shutil.copyfile(source, tmp)
        else:  # the original, with columns a mirror must not redistribute: write the open columns only
            write_open_columns(run_recipe(source, entry, lambda other: None), tmp, dist)
        actual = sha256_of(tmp)
        if actual != dist["sha256"]:
            raise HashMismatchError(
                f"the mirror copy of {entry.id} ({dist['file']}) does not match the catalog: expected "
                f"{dist['sha256']} but got {actual}. Nothing was written; clear the govdata cache and retry."
            )
        os.replace(tmp, dest)
    finally:
        tmp.unlink(missing_ok=True)
    log.info("govdata: mirrored %s as %s", entry.id, dest)
    return dest


def write_open_columns(df, path: Path, dist: dict) -> None:
    """Write a recipe's table as the mirror distribution's CSV (no index, its line endings)."""
    df.to_csv(path, index=False, lineterminator=_TERMINATORS[dist.get("line_endings", "lf")])
