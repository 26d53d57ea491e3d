"""`backstage kit mirror`: copy a kit's datasets into a folder a venue can serve (``GOVDATA_MIRROR=DIR``)."""

from __future__ import annotations

import hashlib
import logging
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


@dataclass
class MirroredFile:
    dataset: str
    path: Path
    sha256: str
    copied: bool


def mirror_kit(kit: Kit, folder: Path) -> list[MirroredFile]:
    """Put into ``folder`` every file a ``GOVDATA_MIRROR`` needs for the kit's datasets, verified by sha256.

    ``govdata.mirror_copy`` chooses and writes the files (each dataset's file under its catalog name,
    the datasets its recipe needs, and an open-columns copy where the catalog says a mirror must not
    carry the original); this function then checks every file's sha256 itself against the catalog
    and writes a ``SHA256SUMS`` file beside them (check with ``sha256sum -c SHA256SUMS``).

    Parameters
    ----------
    kit : Kit
    folder : pathlib.Path
        The mirror folder (created if missing).

    Returns
    -------
    list of MirroredFile
        One per file, in kit order (files needed by several datasets once).

    Raises
    ------
    KitError
        An unknown dataset id (before anything is copied), a fetch that fails, or a hash mismatch.
    """
    import govdata
    from govdata.catalog import catalog_entries
    from govdata.mirror import mirror_distribution

    folder = Path(folder)
    expected = {d["file"]: d["sha256"] for d in map(mirror_distribution, catalog_entries())}
    for dataset in kit.datasets:  # every id is checked before anything is copied
        try:
            govdata.info(dataset)
        except (KeyError, LookupError, ValueError) as err:
            raise KitError(f"{kit.folder / 'kit.yaml'} lists dataset {dataset!r}, which govdata cannot find: {err}") from err
    before = {p.name: sha256_of(p) for p in folder.iterdir() if p.is_file()} if folder.is_dir() else {}
    done: dict[Path, MirroredFile] = {}
    for dataset in tqdm(kit.datasets, desc=f"mirroring {kit.name}", unit="dataset"):
        try:
            paths = govdata.mirror_copy(dataset, folder)
        except (OSError, ValueError) as err:
            raise KitError(
                f"Could not mirror {dataset!r}: {err}. Check the network, or set GOVDATA_MIRROR to a folder "
                "that already holds it."
            ) from err
        for path in paths:
            if path in done:
                continue
            got = sha256_of(path)
            if path.name not in expected or got != expected[path.name]:
                path.unlink()
                raise KitError(
                    f"The mirror copy {path} for {dataset!r} does not match the catalog: expected "
                    f"{expected.get(path.name, 'a catalog file')} but got {got}. Deleted it for safety; clear "
                    "the govdata cache and try again."
                )
            done[path] = MirroredFile(dataset, path, got, copied=before.get(path.name) != got)
    _write_sums(folder)
    log.info("mirrored %d files for %s into %s", len(done), kit.name, folder)
    return list(done.values())


def _write_sums(folder: Path) -> None:
    lines = [
        f"{sha256_of(p)}  {p.name}\n"
        for p in sorted(folder.iterdir())
        if p.is_file() and p.name != "SHA256SUMS" and not p.name.endswith(".part")
    ]
    (folder / "SHA256SUMS").write_text("".join(lines), encoding="utf-8")
