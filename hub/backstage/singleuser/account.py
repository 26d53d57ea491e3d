"""Becoming a person in a new process: their Unix account, umask, memory limit and home.

One function, :func:`person_preexec`, used by both ways a person's server starts:
the spawner's ``preexec_fn`` (a new process, between fork and exec) and a warm server
(:mod:`backstage.singleuser.warm`, a process started ahead of time as root, once it learns whose it is).
It imports nothing of JupyterHub's, so that a warm server stays light.
"""

from __future__ import annotations

import os
import pwd
import resource
from collections.abc import Callable

__all__ = ["person_preexec"]


def person_preexec(unix_name: str | None, home: str, mem_limit: int | None = None) -> Callable[[], None]:
    """A function that makes the calling process the person's: run it in the new process, before their code.

    Parameters
    ----------
    unix_name : str or None
        The person's Unix account (the process must be root); None: stay the current user (a one-person lab).
    home : str
        The folder the process starts in (the account's home when isolated).
    mem_limit : int or None
        ``RLIMIT_AS`` in bytes, inherited by the person's kernels (a per-process cap); None or 0: no limit.

    The account is looked up now (in the caller), so that the returned function only makes system calls.
    Failing to set the groups is an error (the process would keep root's supplementary groups).
    """
    entry = pwd.getpwnam(unix_name) if unix_name is not None else None
    groups = os.getgrouplist(unix_name, entry.pw_gid) if entry is not None else None

    def preexec() -> None:
        os.umask(0o022)  # the hub runs with 077; inside a 0700 home the usual 022 is right
        if mem_limit:
            resource.setrlimit(resource.RLIMIT_AS, (mem_limit, mem_limit))
        if entry is not None:
            os.setgid(entry.pw_gid)
            os.setgroups(groups)
            os.setuid(entry.pw_uid)
        os.chdir(home)

    return preexec
