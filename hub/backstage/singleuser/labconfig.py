"""The configuration every person's server reads, written by the hub into one folder of the state.

``write_lab_config(folder, links)`` writes (atomically, world-readable, the same for everyone):

- ``jupyter/jupyter_server_config.json``: the spawner puts ``jupyter/`` on ``JUPYTER_CONFIG_PATH``,
  ahead of the environment's own config, so it decides which server extensions load (see
  :data:`SERVER_EXTENSIONS`) and sets JupyterLab's options;
- ``jupyter/labconfig/page_config.json``: no build check (each lab page asked the server whether
  JupyterLab needs a rebuild, which ran ``node`` twice, ~0.5 s of CPU, for a build nobody makes);
- ``lab-settings/overrides.json``: JupyterLab's settings defaults (``LabApp.app_settings_dir``):
  no news, no update check, no extension manager, and a "Backstage" menu with ``links``.

Nothing here calls the internet: JupyterLab's news feed (``news_url``) and update check
(``check_for_updates_class``) are off on the server, the "fetch news?" question is answered
"never", and the extension manager is read-only and hidden (it would query PyPI and npm).
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

__all__ = ["MENU_ID", "PAGE_CONFIG", "SERVER_EXTENSIONS", "lab_overrides", "server_config", "write_lab_config"]

# True: loaded; False: installed in the environment but not loaded in a person's server.
SERVER_EXTENSIONS = {
    "jupyterlab": True,
    "jupyter_server_ydoc": True,  # real-time collaboration
    "jupyter_server_fileid": True,  # needed by collaboration (documents keep their room when renamed)
    "jupyter_server_terminals": True,  # the Terminal in the launcher
    "nbgitpuller": True,  # the kits' "open in the lab" links
    "voila.server_extension": True,  # "Preview with Voilà" while building a dashboard (notebook 06)
    "backstage.singleuser": True,  # the remix page, a quiet stop of collaboration (backstage/singleuser/)
    "jupyter_lsp": False,  # no language server is installed: it only scans for ~20 of them at start
    "notebook_shim": False,  # classic-notebook config compatibility: no classic notebook here
}

MENU_ID = "jp-mainmenu-backstage"
PAGE_CONFIG = {"buildAvailable": False, "buildCheck": False}


def server_config(app_settings_dir: str | os.PathLike) -> dict:
    """The Jupyter server configuration (``jupyter_server_config.json``) of every person's server."""
    return {
        "ServerApp": {"jpserver_extensions": dict(SERVER_EXTENSIONS)},
        "LabApp": {
            "news_url": None,
            "check_for_updates_class": "jupyterlab.NeverCheckForUpdate",
            "extension_manager": "readonly",
            "app_settings_dir": str(app_settings_dir),
        },
    }


def lab_overrides(links: dict[str, str]) -> dict:
    """JupyterLab settings defaults: no news or update check, no extension manager, a menu of ``links``.

    Parameters
    ----------
    links : dict
        Menu label -> URL, e.g. ``{"Dashboard gallery": "http://localhost:8000/services/gallery/"}``;
        empty: no menu.
    """
    overrides = {
        "@jupyterlab/apputils-extension:notification": {"fetchNews": "false", "checkForUpdates": False},
        "@jupyterlab/extensionmanager-extension:plugin": {"enabled": False},
    }
    if links:
        items = [{"command": "help:open", "args": {"url": url, "text": label, "newBrowserTab": True}, "rank": rank}
                 for rank, (label, url) in enumerate(links.items())]
        overrides["@jupyterlab/mainmenu-extension:plugin"] = {
            "menus": [{"id": MENU_ID, "label": "Backstage", "rank": 900, "items": items}],
        }
    return overrides


def _write_readable(path: Path, data: dict) -> None:
    """Write JSON atomically (servers may be reading it), mode 0644 in a 0755 folder (the hub's umask is 077)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    os.chmod(path.parent, 0o755)  # noqa: S103 (every person's server reads it; it holds no secret)
    text = json.dumps(data, indent=1, sort_keys=True) + "\n"
    if path.exists() and path.read_text() == text:
        return
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as f:
            f.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_lab_config(folder: str | os.PathLike, links: dict[str, str]) -> Path:
    """Write the servers' configuration into ``folder``; return the folder for ``JUPYTER_CONFIG_PATH``."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(folder, 0o755)  # noqa: S103 (as above)
    settings_dir = folder / "lab-settings"
    _write_readable(settings_dir / "overrides.json", lab_overrides(links))
    config_dir = folder / "jupyter"
    _write_readable(config_dir / "jupyter_server_config.json", server_config(settings_dir))
    _write_readable(config_dir / "labconfig" / "page_config.json", PAGE_CONFIG)
    return config_dir
