"""Loaded by every pytest run of this repository (tests/ and the nbval run over notebooks/ alike):
nothing a test starts may read or write the machine's own home, Jupyter dirs or govdata cache."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path


def _isolate_home() -> None:
    """Point HOME, Jupyter's dirs and the govdata cache at a throwaway folder, for this process and every child."""
    home = Path(tempfile.mkdtemp(prefix="backstage-test-home-"))
    os.environ["HOME"] = str(home)
    os.environ["JUPYTER_DATA_DIR"] = str(home / ".local/share/jupyter")
    os.environ["JUPYTER_CONFIG_DIR"] = str(home / ".jupyter")
    os.environ["JUPYTER_RUNTIME_DIR"] = str(home / ".local/share/jupyter/runtime")
    os.environ["IPYTHONDIR"] = str(home / ".ipython")
    os.environ.setdefault("GOVDATA_CACHE", str(home / "govdata-cache"))


_isolate_home()
