"""A person's server started ahead of time: ``python -P -m backstage.singleuser.warm`` (see backstage/warmpool.py).

Most of a server's start is Python importing Jupyter Server, JupyterLab, JupyterHub's single-user
code and the server extensions (~0.8 s of the ~1 s of CPU to its first answer on this machine).
A warm server does that before anyone asks for it, then waits for one line on its standard input:
the JSON of whose server it is (``{"unix_name", "home", "mem_limit", "env", "argv"}``), written by
the hub. It then becomes that person exactly as a cold start does (:func:`person_preexec`: Unix
account, groups, umask, memory limit, home), takes their environment and arguments, and runs
the same ``main`` as ``python -m backstage.singleuser``. End of input (the hub stopped or emptied its
pool) ends it.

Why this keeps the isolation model (docs/architecture.md) when a forking "zygote" would not:

- each warm server is a fresh ``exec`` of Python by the hub, never a fork of a process that served
  someone else: its memory holds public code only, no other person's token, and its address
  layout, hash seed and random state are its own;
- it is started with a small clean environment (the spawner's ``env_keep`` values, nothing of the
  hub's secrets) and no open file but its three standard streams (stdin: a pipe from the hub);
- it imports as root from root-owned folders only: ``-P`` keeps the working folder (``/``) off
  ``sys.path``, and nothing a participant can write is on it;
- the person's details reach it only through that pipe, which only the hub holds.

What a module computed at import from the home folder or the user id would be root's, so
:func:`refresh_import_time_state` recomputes each such value once the process is the person's:
JupyterLab's user-settings and workspaces folders, the file-id database's path (collaboration),
send2trash's trash folder and uid, the kernel messages' username and wsgiref's copy of the environment. ``tests/unit/test_singleuser_warm.py`` walks every module loaded
here for a value holding the warm process's home folder or user name, so a new one fails the test.

What differs from a cold start: ``/proc/<pid>/environ`` and ``cmdline`` show the warm server's, not
the person's (``os.environ`` inside is the person's, and kernels inherit it); find a person's
server by its Unix account instead.
"""

from __future__ import annotations

import ctypes
import importlib
import json
import os
import sys

from backstage.singleuser.__main__ import prepare
from backstage.singleuser.account import person_preexec
from backstage.singleuser.labconfig import SERVER_EXTENSIONS

__all__ = ["become", "main", "preload", "refresh_import_time_state"]

_PR_SET_PDEATHSIG, _PR_SET_DUMPABLE = 1, 4


def preload() -> None:
    """Import what a server's start imports: JupyterHub's single-user code and every server extension loaded."""
    prepare()
    import jupyterhub.singleuser  # noqa: F401
    import jupyterhub.singleuser.extension  # noqa: F401

    for name, loaded in SERVER_EXTENSIONS.items():
        if loaded:
            importlib.import_module(name)


def _set_class_default(cls: type, name: str, value) -> None:
    """Give the trait ``name`` of ``cls`` (and its subclasses) a new default, as if computed at class creation."""
    cls.class_traits()[name].default_value = value
    classes, seen = [cls], set()
    while classes:
        klass = classes.pop()
        if klass in seen:
            continue
        seen.add(klass)
        classes.extend(klass.__subclasses__())
        initial = klass.__dict__.get("_static_immutable_initial_values")  # traitlets' copy of immutable defaults
        if initial is not None and name in initial:
            initial[name] = value


def refresh_import_time_state() -> None:
    """Recompute the values modules computed at import from the home folder, user name or uid (once the person's)."""
    plat_other = sys.modules.get("send2trash.plat_other")
    if plat_other is not None:
        importlib.reload(plat_other)  # its functions read these module globals: XDG_DATA_HOME, HOMETRASH, uid
    labapp = sys.modules.get("jupyterlab.labapp")
    if labapp is not None:
        from jupyterlab.commands import get_user_settings_dir, get_workspaces_dir

        _set_class_default(labapp.LabApp, "user_settings_dir", get_user_settings_dir())
        _set_class_default(labapp.LabApp, "workspaces_dir", get_workspaces_dir())
    session = sys.modules.get("jupyter_client.session")
    if session is not None:  # the kernel messages' username, from $USER at import
        _set_class_default(session.Session, "username", os.environ.get("USER", "username"))
    handlers = sys.modules.get("wsgiref.handlers")
    if handlers is not None:  # a copy of os.environ taken at import
        handlers.BaseHandler.os_environ = handlers.read_environ()
    manager = sys.modules.get("jupyter_server_fileid.manager")
    if manager is not None:
        from jupyter_core.paths import jupyter_data_dir

        manager.default_db_path = os.path.join(jupyter_data_dir(), "file_id_manager.db")
        _set_class_default(manager.BaseFileIdManager, "db_path", manager.default_db_path)


def _as_after_exec() -> None:
    """What a cold start's exec leaves: dumpable (changing uid made it not: the person may inspect their own
    server), and no parent-death signal (a server outlives the hub as a cold one does, also in a one-person lab)."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)
        libc.prctl(_PR_SET_PDEATHSIG, 0, 0, 0, 0)
    except (OSError, AttributeError):  # not Linux
        pass


def become(assignment: dict) -> None:
    """Make this process the person's server named in ``assignment`` (as root, before any of their code)."""
    devnull = os.open(os.devnull, os.O_RDONLY)
    os.dup2(devnull, 0)  # a server reads nothing from the hub after this
    os.close(devnull)
    person_preexec(assignment.get("unix_name"), assignment["home"], assignment.get("mem_limit"))()
    _as_after_exec()
    os.environ.clear()
    os.environ.update(assignment["env"])
    sys.argv = list(assignment["argv"])
    refresh_import_time_state()


def main() -> int:
    preload()
    line = sys.stdin.buffer.readline()
    if not line.strip():
        return 0  # the hub stopped, or emptied its pool
    become(json.loads(line))
    from jupyterhub.singleuser import main as singleuser_main

    return singleuser_main() or 0


if __name__ == "__main__":
    sys.exit(main())
