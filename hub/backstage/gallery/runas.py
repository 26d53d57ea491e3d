"""Submitted code never runs with the gallery's privileges: the identity and environment it runs with.

Who runs what (a throw-away account per check, a dedicated account for the dashboards) is decided in
`sandbox`; this module holds the pieces every launcher uses: the identity (`RunAs`), a private home, a
scrubbed environment (no ``JUPYTERHUB_API_TOKEN``, no hub secrets) and the wrapper that ties a child's
life to the gallery's and forbids it to gain privileges.
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

    def share_read(self, path: Path) -> None:
        """Let this user read *path* (a folder: and enter it) through its group, while root keeps it: it can
        neither change, rename nor replace it (no-op unless we are root)."""
        if os.geteuid() == 0 and self.uid != 0:
            os.chown(path, 0, self.gid)
            os.chmod(path, 0o750 if path.is_dir() else 0o440)


def current_user() -> RunAs:
    """The identity the gallery itself runs as (the one-person lab runs everything as it)."""
    entry = pwd.getpwuid(os.geteuid())
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


def child_env(home: Path, tmp: Path | None = None, **extra: str) -> dict:
    """A scrubbed environment for code from submissions, with its own home, Jupyter folders and TMPDIR."""
    env = {k: os.environ[k] for k in _KEEP if os.environ.get(k)}
    env.update(
        HOME=str(home),
        TMPDIR=str(tmp or home),
        JUPYTER_DATA_DIR=str(home / ".local/share/jupyter"),
        JUPYTER_RUNTIME_DIR=str(home / ".local/share/jupyter/runtime"),
        JUPYTER_CONFIG_DIR=str(home / ".jupyter"),
        IPYTHONDIR=str(home / ".ipython"),
        GOVDATA_CACHE=str(home / "govdata-cache"),
        JUPYTER_PLATFORM_DIRS="1",
    )
    env.update(extra)
    return env


#: Processes and threads one check's account may have at once (RLIMIT_NPROC, counted per uid): a fork bomb
#: stops there, and the kill by uid afterwards has a bounded number to end. Chromium alone uses ~150 threads.
CHECK_MAX_TASKS = 1024


def limit_tasks(argv: list[str], max_tasks: int = CHECK_MAX_TASKS) -> list[str]:
    """*argv* under ``prlimit --nproc`` (util-linux): at most *max_tasks* processes and threads for its uid.

    Only as root, where the uid is the check's alone; in a one-person lab it is the person's, whose own
    server would count against the limit.
    """
    prlimit = shutil.which("prlimit")
    if os.geteuid() != 0:
        return list(argv)
    return [prlimit, f"--nproc={max_tasks}:{max_tasks}", "--", *argv] if prlimit else list(argv)


def dies_with_gallery(argv: list[str]) -> list[str]:
    """*argv*, run so that the child gets SIGTERM when the gallery process dies, even by ``kill -9``, and
    can never gain privileges (``no_new_privs``: a setuid program it runs gets no more rights than it has).

    The hub restarts a gallery that died; without this, the old one's Voilà and kernels would live on,
    orphaned, holding ports and memory. (``setpriv``, from util-linux, as in every Debian.)
    """
    setpriv = shutil.which("setpriv")
    return [setpriv, "--pdeathsig", "TERM", "--no-new-privs", "--", *argv] if setpriv else list(argv)
