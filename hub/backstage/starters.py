"""Starter notebooks into a person's home: missing files only, never a person's edits, never through a link.

The hub runs as root, and a home belongs to its participant, who may leave anything in it: a symbolic link
named like a starter file (``notebooks/01-welcome.ipynb -> /etc/...``) or a linked folder. So the copy
(1) runs as the person (``python -m backstage.starters SOURCE HOME``, started by the spawner with their
uid and gid), and (2) never follows a link: folders are made with ``mkdir`` and checked with ``lstat``,
files are created with ``O_CREAT | O_EXCL | O_NOFOLLOW`` (an existing name, a dangling link included, is
left alone).
"""

from __future__ import annotations

import json
import logging
import os
import stat
import subprocess
import sys
from pathlib import Path

log = logging.getLogger(__name__)

__all__ = ["copy_starter_notebooks", "copy_starter_notebooks_as"]


def _real_folder(path: Path) -> bool:
    """Make ``path`` (one level) if missing; True when it is a real folder (not a link)."""
    try:
        os.mkdir(path, 0o755)
        return True
    except FileExistsError:
        return stat.S_ISDIR(os.lstat(path).st_mode)


def copy_starter_notebooks(source: Path, home: Path) -> list[Path]:
    """Copy the starter notebooks missing from ``home/<source name>``; never overwrite, never follow a link.

    Hidden files and folders (``.ipynb_checkpoints``) are not copied.

    Returns
    -------
    list of Path
        The files copied this time (empty when everything is already there).
    """
    copied: list[Path] = []
    source, home = Path(source), Path(home)
    if not source.is_dir() or not stat.S_ISDIR(os.lstat(home).st_mode):
        return copied
    target_root = home / source.name
    if not _real_folder(target_root):
        log.warning("%s is not a folder: starter notebooks not copied", target_root)
        return copied
    for src in sorted(source.rglob("*")):
        rel = src.relative_to(source)
        if any(part.startswith(".") for part in rel.parts) or src.is_dir():
            continue
        folder, ok = target_root, True
        for part in rel.parts[:-1]:
            folder = folder / part
            if not _real_folder(folder):
                ok = False
                break
        if not ok:
            continue
        dst = folder / rel.parts[-1]
        try:
            fd = os.open(dst, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
        except FileExistsError:
            continue  # a person's file (or anything they put there) is never replaced
        with os.fdopen(fd, "wb") as out, open(src, "rb") as data:
            out.write(data.read())
        copied.append(dst)
    return copied


def copy_starter_notebooks_as(source: Path, home: Path, uid: int, gid: int) -> list[Path]:
    """:func:`copy_starter_notebooks` in a process running as ``uid``/``gid`` (the home's owner)."""
    result = subprocess.run(
        [sys.executable, "-m", "backstage.starters", str(source), str(home)],
        user=uid, group=gid, extra_groups=[], env={"PATH": os.defpath, "LANG": "C.UTF-8"},
        capture_output=True, text=True, timeout=60, cwd="/", umask=0o022,
    )
    if result.returncode != 0:
        raise RuntimeError(f"copying the starter notebooks into {home} failed: {result.stderr.strip()[-500:]}")
    return [Path(p) for p in json.loads(result.stdout or "[]")]


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 2:
        sys.stderr.write("usage: python -m backstage.starters SOURCE HOME\n")
        return 2
    sys.stdout.write(json.dumps([str(p) for p in copy_starter_notebooks(Path(args[0]), Path(args[1]))]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
