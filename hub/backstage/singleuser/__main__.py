"""Start a person's server: ``python -m backstage.singleuser`` (JupyterHub's ``jupyterhub-singleuser``, cheaper).

Measured on this 2-core machine (``benchmarks/hub_load.py`` prints the breakdown), a start spent
~3.0 s of CPU, of which two parts did nothing a participant uses:

- ~0.95 s importing ``rfc3987_syntax``: ``jupyter_events`` imports ``jsonschema``, whose format
  checkers import this optional package, which compiles 39 Lark grammars at import, for the
  ``iri`` string format that no schema of a Jupyter server uses. It is kept out of this process
  only (``sys.modules[name] = None`` is Python's documented way to make an import fail); kernels,
  where participants' code runs, are separate processes and untouched.
- ~0.45 s in ``node yarn.js config --json``: importing ``jupyterlab.labapp`` computes JupyterLab's
  version through an ``AppOptions`` whose npm-registry default asks yarn. JupyterLab skips that
  when Node.js is not on ``PATH`` ("user with no need for building jupyterlab"), which is true of
  a participant: ``PATH`` is restored right after that import.
"""

from __future__ import annotations

import os
import sys
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


def main() -> int:
    for name in SKIPPED_OPTIONAL_IMPORTS:
        sys.modules.setdefault(name, None)
    _import_jupyterlab_without_registry_lookup()
    from jupyterhub.singleuser import main as singleuser_main

    return singleuser_main() or 0


if __name__ == "__main__":
    sys.exit(main())
