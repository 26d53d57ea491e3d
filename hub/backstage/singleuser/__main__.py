"""Start a person's server: ``python -m backstage.singleuser`` (JupyterHub's ``jupyterhub-singleuser``, cheaper).

Measured on this 2-core machine (``benchmarks/hub_load.py`` prints the breakdown), a start spent
~3.0 s of CPU, of which three parts did nothing a participant uses:

- ~0.95 s importing ``rfc3987_syntax``: ``jupyter_events`` imports ``jsonschema``, whose format
  checkers import this optional package, which compiles 39 Lark grammars at import, for the
  ``iri`` string format that no schema of a Jupyter server uses. It is kept out of this process
  only (``sys.modules[name] = None`` is Python's documented way to make an import fail); kernels,
  where participants' code runs, are separate processes and untouched.
- ~0.45 s in ``node yarn.js config --json``: importing ``jupyterlab.labapp`` computes JupyterLab's
  version through an ``AppOptions`` whose npm-registry default asks yarn. JupyterLab skips that
  when Node.js is not on ``PATH`` ("user with no need for building jupyterlab"), which is true of
  a participant: ``PATH`` is restored right after that import.
- ~0.1-0.3 s importing the hub's own request handlers, its database models and Alembic's
  migrations: ``jupyterhub.singleuser`` imports ``jupyterhub.log``, which imports
  ``jupyterhub.handlers.pages`` for one ``isinstance(handler, HealthCheckHandler)`` test, and
  ``jupyterhub.metrics``, which imports ``jupyterhub.orm`` for the hub's own collector of figures.
  :data:`HUB_ONLY_MODULES` puts small stand-ins in their place (a ``HealthCheckHandler`` class no
  handler of a server derives from); any other name asked of them raises an error that says why.
  ``tests/unit/test_singleuser_config.py`` fails when JupyterHub's use of them changes.

:func:`prepare` does all three; the server's CPU to its first answer is printed by
``benchmarks/hub_load.py`` ("server start").
"""

from __future__ import annotations

import os
import sys
import types
from pathlib import Path

SKIPPED_OPTIONAL_IMPORTS = ("rfc3987_syntax",)


def _path_without_node(path: str) -> str:
    """``path`` without the folders that hold a ``node`` or ``nodejs`` executable (never empty)."""
    kept = [folder for folder in path.split(os.pathsep)
            if folder and not any(os.access(Path(folder) / name, os.X_OK) for name in ("node", "nodejs"))]
    return os.pathsep.join(kept) or str(Path(sys.executable).parent)


def _import_jupyterlab_without_registry_lookup() -> None:
    original = os.environ.get("PATH")
    os.environ["PATH"] = _path_without_node(original or os.defpath)
    try:
        import jupyterlab.labapp  # noqa: F401 (imported now, so later imports reuse it)
    finally:
        if original is None:
            del os.environ["PATH"]
        else:
            os.environ["PATH"] = original


class _NotAHealthCheck:
    """No handler of a person's server is the hub's health check (``jupyterhub.log.log_request`` tests isinstance)."""


# modules of the hub that jupyterhub.singleuser imports but a server never uses: name -> the names imported from it
HUB_ONLY_MODULES = {
    "jupyterhub.handlers.pages": {"HealthCheckHandler": _NotAHealthCheck},  # jupyterhub.log: one isinstance test
    "jupyterhub.orm": {},  # jupyterhub.metrics: only in the hub's own collector of figures
}


def _stand_in(name: str, **names) -> types.ModuleType:
    """A module in place of the hub-only module ``name``: ``names``, and an error for anything else."""
    module = types.ModuleType(name, "Stand-in for a module of the hub in a person's server (backstage.singleuser).")

    def __getattr__(attribute: str):
        raise AttributeError(
            f"{name}.{attribute} is not loaded in a person's server: backstage.singleuser.__main__ stands in "
            f"for {name}, which only the hub uses (jupyterhub.log and jupyterhub.metrics import it). If a newer "
            f"JupyterHub uses more of it in the server, remove the stand-in from backstage/singleuser/__main__.py.")

    module.__dict__.update(names, __getattr__=__getattr__)
    return module


def prepare() -> None:
    """Import what the server needs without the costs above (call before ``jupyterhub.singleuser``)."""
    for name in SKIPPED_OPTIONAL_IMPORTS:
        sys.modules.setdefault(name, None)
    for name, names in HUB_ONLY_MODULES.items():
        if name not in sys.modules:
            sys.modules[name] = _stand_in(name, **names)
    _import_jupyterlab_without_registry_lookup()


def main() -> int:
    prepare()
    from jupyterhub.singleuser import main as singleuser_main

    return singleuser_main() or 0


if __name__ == "__main__":
    sys.exit(main())
