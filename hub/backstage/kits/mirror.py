"""`backstage kit mirror`: copy a kit's datasets into a folder a venue can serve (``GOVDATA_MIRROR=DIR``)."""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .catalog import Kit
from .errors import KitError

log = logging.getLogger(__name__)


def sha256_of(path: Path) -> str:
    """Hex sha256 of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _field(entry, *names):
    """Read the first present field of a catalog entry, whether it is a mapping or an object."""
    for name in names:
        value = entry.get(name) if isinstance(entry, dict) else getattr(entry, name, None)
        if value:
            return value
    return None


def _distribution(entry, source: Path) -> tuple[str, str]:
    """The file name and sha256 a mirror must carry for ``entry``, given the file govdata fetched.

    A catalog entry may list ``mirror_distributions``: files that stand for the original on a mirror
    (for example the open columns only, when the original holds columns that may not be passed on).
    A mirror carries the last of those; otherwise the original (``file``, ``sha256``).
    """
    dists = [{"file": _field(entry, "file"), "sha256": _field(entry, "sha256")}]
    dists += list(_field(entry, "mirror_distributions") or [])
    wanted = dists[-1]
    if source.name != wanted["file"]:
        note = wanted.get("note", "")
        raise KitError(
            f"govdata fetched {source.name} for {_field(entry, 'id')!r}, but a mirror must carry "
            f"{wanted['file']} instead. {note} Run the mirror from a machine whose GOVDATA_MIRROR already "
            f"holds {wanted['file']} (sha256 {wanted['sha256']})."
        )
    return wanted["file"], str(wanted["sha256"]).lower()


@dataclass
class MirroredFile:
    dataset: str
    path: Path
    sha256: str
    copied: bool


def mirror_kit(kit: Kit, folder: Path) -> list[MirroredFile]:
    """Fetch each dataset of the kit (``govdata.fetch``) and copy it into ``folder`` under its catalog name.

    Every copy is checked against the catalog's sha256 before it is moved into place, and a file
    already in the folder with the right hash is kept. A ``SHA256SUMS`` file is written beside them
    (check with ``sha256sum -c SHA256SUMS``).

    Parameters
    ----------
    kit : Kit
    folder : pathlib.Path
        The mirror folder (created if missing).

    Returns
    -------
    list of MirroredFile

    Raises
    ------
    KitError
        An unknown dataset id, a fetch that fails, or a copy whose hash does not match.
    """
    import govdata

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    entries = {}
    for dataset in kit.datasets:  # every id is checked before anything is copied
        try:
            entries[dataset] = govdata.info(dataset)
        except (KeyError, LookupError, ValueError) as err:
            raise KitError(f"{kit.folder / 'kit.yaml'} lists dataset {dataset!r}, which govdata cannot find: {err}") from err
    done: list[MirroredFile] = []
    for dataset, entry in tqdm(entries.items(), desc=f"mirroring {kit.name}", unit="dataset"):
        try:
            source = Path(govdata.fetch(dataset))
        except (OSError, ValueError) as err:
            raise KitError(
                f"Could not fetch {dataset!r} to mirror it: {err}. Check the network, or set GOVDATA_MIRROR "
                "to a folder that already holds it."
            ) from err
        filename, expected = _distribution(entry, source)
        target = folder / Path(filename).name
        if target.is_file() and sha256_of(target) == expected:
            done.append(MirroredFile(dataset, target, expected, copied=False))
            continue
        part = target.with_name(target.name + ".part")
        shutil.copyfile(source, part)
        got = sha256_of(part)
        if got != expected:
            part.unlink()
            raise KitError(
                f"The copy of {dataset!r} ({source}) does not match the catalog hash: expected {expected} "
                f"but got {got}. Deleted the copy for safety; clear the govdata cache and try again."
            )
        os.replace(part, target)
        done.append(MirroredFile(dataset, target, expected, copied=True))
    _write_sums(folder)
    log.info("mirrored %d datasets for %s into %s", len(done), kit.name, folder)
    return done


def _write_sums(folder: Path) -> None:
    lines = [
        f"{sha256_of(p)}  {p.name}\n"
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != "SHA256SUMS" and not p.name.endswith(".part")
    ]
    (folder / "SHA256SUMS").write_text("".join(lines), encoding="utf-8")
