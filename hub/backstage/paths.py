"""Where the lab keeps its state: one rule for every part (hub, services, spawner, commands)."""

from __future__ import annotations

import os
from pathlib import Path

__all__ = ["DEFAULT_STATE", "state_dir"]

DEFAULT_STATE = ".backstage"


def state_dir(environ=None) -> Path:
    """The state folder, absolute: ``$BACKSTAGE_STATE``, else ``.backstage`` in the working folder (read at use)."""
    env = os.environ if environ is None else environ
    return Path(env.get("BACKSTAGE_STATE") or DEFAULT_STATE).resolve()
