"""Submitted code never runs with the gallery's privileges.

When the gallery runs as root (a real multi-user site), the checks' kernels and the dashboards'
Voilà run as an unprivileged Unix user (``nobody`` by default) with a private home and a scrubbed
environment: no ``JUPYTERHUB_API_TOKEN``, no hub secrets, no access to the gallery's store.
Run as an ordinary user, the lab is a one-person lab and the code runs as that user.
"""

from __future__ import annotations

import os
import pwd
import shutil
from dataclasses import dataclass
from pathlib import Path

# Variables a kernel may see; everything else (hub tokens, OAuth client ids, lab ids) is dropped.
_KEEP = ("PATH", "LANG", "LC_ALL", "LC_CTYPE", "TZ", "GOVDATA_MIRROR", "PYTHONPATH", "BACKSTAGE_LAB_ID")


@dataclass(frozen=True)
class RunAs:
    """The Unix identity that runs submitted code (None fields: the current user)."""

    name: str
    uid: int
    gid: int

    def popen_kwargs(self) -> dict:
        if self.uid == os.geteuid():
            return {}
        return {"user": self.uid, "group": self.gid, "extra_groups": []}

    def own(self, path: Path) -> None:
        """Give *path* to this user (no-op unless we are root)."""
        if os.geteuid() == 0 and self.uid != 0:
            os.chown(path, self.uid, self.gid)


def resolve(name: str) -> RunAs:
    """The identity for submitted code: *name* when running as root, else the current user."""
    if os.geteuid() != 0:
        entry = pwd.getpwuid(os.geteuid())
        return RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid)
    try:
        entry = pwd.getpwnam(name)
    except KeyError:
        raise RuntimeError(
            f"the Unix user {name!r} that should run submitted code does not exist: create it "
            "(useradd --system) or set --Checks.run_as / --VoilaPool.run_as to an existing unprivileged user"
        ) from None
    if entry.pw_uid == 0:
        raise RuntimeError(f"{name!r} is root: submitted code must run as an unprivileged user")
    return RunAs(entry.pw_name, entry.pw_uid, entry.pw_gid)


def private_home(path: Path, run_as: RunAs) -> Path:
    """Create *path* (0700) owned by *run_as*, with the Jupyter folders a kernel writes to."""
    path.mkdir(parents=True, exist_ok=True, mode=0o700)
    for sub in ("", ".local", ".local/share", ".local/share/jupyter", ".local/share/jupyter/runtime",
                ".jupyter", ".ipython", "govdata-cache"):
        folder = path / sub
        folder.mkdir(exist_ok=True, mode=0o700)
        run_as.own(folder)
    return path


def child_env(home: Path, **extra: str) -> dict:
    """A scrubbed environment for code from submissions, with its own home and Jupyter folders."""
    env = {k: os.environ[k] for k in _KEEP if os.environ.get(k)}
    env.update(
        HOME=str(home),
        JUPYTER_DATA_DIR=str(home / ".local/share/jupyter"),
        JUPYTER_RUNTIME_DIR=str(home / ".local/share/jupyter/runtime"),
        JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
        IPYTHONDIR=str(home / ".ipython"),
        GOVDATA_CACHE=str(home / "govdata-cache"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    env.update(extra)
    return env


def dies_with_gallery(argv: list[str]) -> list[str]:
    """*argv*, run so that the child gets SIGTERM when the gallery process dies, even by ``kill -9``.

    The hub restarts a gallery that died; without this, the old one's Voilà and kernels would live on,
    orphaned, holding ports and memory. (``setpriv --pdeathsig``, from util-linux, as in every Debian.)
    """
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--", *argv] if setpriv else list(argv)
