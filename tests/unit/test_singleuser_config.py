"""What a person's server loads and how it is configured (backstage.singleuser), without starting one."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys

from backstage.services import gallery_service, share_service
from backstage.settings import DEFAULTS
from backstage.singleuser import __main__ as entry
from backstage.singleuser.labconfig import (
    MENU_ID,
    SERVER_EXTENSIONS,
    lab_overrides,
    server_config,
    write_lab_config,
)

GALLERY = "http://gallery--service.localhost:8000/services/gallery/"


def test_no_call_to_the_internet_that_a_participant_did_not_ask_for():
    lab = server_config("/srv/lab/singleuser/lab-settings")["LabApp"]
    assert lab["news_url"] is None  # the server fetches no news feed
    assert lab["check_for_updates_class"] == "jupyterlab.NeverCheckForUpdate"
    assert lab["extension_manager"] == "readonly"  # no PyPI search, no pip install
    overrides = lab_overrides({})
    assert overrides["@jupyterlab/apputils-extension:notification"] == {"fetchNews": "false", "checkForUpdates": False}
    assert overrides["@jupyterlab/extensionmanager-extension:plugin"] == {"enabled": False}


def test_only_the_server_extensions_a_participant_uses_are_loaded():
    loaded = {name for name, on in SERVER_EXTENSIONS.items() if on}
    assert {"jupyterlab", "jupyter_server_ydoc", "jupyter_server_fileid", "nbgitpuller",
            "backstage.singleuser"} <= loaded
    assert server_config("x")["ServerApp"]["jpserver_extensions"]["jupyter_lsp"] is False


def test_the_backstage_menu_links_the_gallery_and_the_share_page():
    menus = lab_overrides({"Dashboard gallery": GALLERY, "Share my server": "/services/share/"})[
        "@jupyterlab/mainmenu-extension:plugin"]["menus"]
    assert [m["id"] for m in menus] == [MENU_ID] and menus[0]["label"] == "Backstage"
    items = menus[0]["items"]
    assert [(i["command"], i["args"]["text"], i["args"]["url"]) for i in items] == [
        ("help:open", "Dashboard gallery", GALLERY), ("help:open", "Share my server", "/services/share/")]


def test_written_files_are_readable_by_every_person_and_rewritten_only_on_change(tmp_path):
    old = os.umask(0o077)  # the hub's umask
    try:
        config_dir = write_lab_config(tmp_path / "singleuser", {"Dashboard gallery": GALLERY})
    finally:
        os.umask(old)
    assert json.loads((config_dir / "labconfig" / "page_config.json").read_text()) == {
        "buildAvailable": False, "buildCheck": False}  # no build check (node, twice) at each page
    server_file = config_dir / "jupyter_server_config.json"
    overrides_file = tmp_path / "singleuser" / "lab-settings" / "overrides.json"
    for path in (server_file, overrides_file):
        assert stat.S_IMODE(path.stat().st_mode) == 0o644
        assert stat.S_IMODE(path.parent.stat().st_mode) == 0o755
    assert json.loads(server_file.read_text())["LabApp"]["app_settings_dir"] == str(overrides_file.parent)
    before = overrides_file.stat().st_mtime_ns
    write_lab_config(tmp_path / "singleuser", {"Dashboard gallery": GALLERY})
    assert overrides_file.stat().st_mtime_ns == before
    write_lab_config(tmp_path / "singleuser", {"Dashboard gallery": GALLERY + "x"})
    assert GALLERY + "x" in overrides_file.read_text()


def test_services_have_human_names_for_the_hub_menu():
    settings = {**DEFAULTS, "state_dir": "/srv/lab"}
    assert share_service(settings)["info"]["display_name"] == "Share my server"
    assert gallery_service(settings)["info"]["display_name"] == "Dashboard gallery"


def test_node_is_hidden_only_from_the_path_jupyterlab_is_imported_with(tmp_path):
    with_node = tmp_path / "with-node"
    with_node.mkdir()
    (with_node / "node").write_text("#!/bin/sh\n")
    (with_node / "node").chmod(0o755)
    path = os.pathsep.join([str(with_node), "/nonexistent", str(tmp_path)])
    assert entry._path_without_node(path) == os.pathsep.join(["/nonexistent", str(tmp_path)])
    assert entry._path_without_node(str(with_node)) == os.path.dirname(sys.executable)


def _printed_by_a_fresh_python(code: str, home) -> str:
    """What ``code`` prints in a new Python process (imports start from nothing, as in a server's start)."""
    env = {**os.environ, "HOME": str(home)}
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.strip()


def test_a_server_process_imports_neither_the_uri_grammar_nor_runs_yarn(tmp_path):
    # the same steps as python -m backstage.singleuser, up to (not including) the server's start
    code = ("import sys, subprocess\n"
            "calls = []\n"
            "real = subprocess.Popen.__init__\n"
            "def spy(self, args, *a, **k):\n"
            "    calls.append(str(args)); return real(self, args, *a, **k)\n"
            "subprocess.Popen.__init__ = spy\n"
            "from backstage.singleuser.__main__ import SKIPPED_OPTIONAL_IMPORTS, _import_jupyterlab_without_registry_lookup\n"
            "for name in SKIPPED_OPTIONAL_IMPORTS: sys.modules.setdefault(name, None)\n"
            "_import_jupyterlab_without_registry_lookup()\n"
            "import jupyter_server.serverapp, jsonschema\n"
            "print(sys.modules.get('rfc3987_syntax') is None, [c for c in calls if 'yarn' in c])\n")
    assert _printed_by_a_fresh_python(code, tmp_path) == "True []"


def test_a_server_process_imports_none_of_the_hubs_handlers_or_database(tmp_path):
    # jupyterhub.singleuser imports jupyterhub.log (-> the hub's pages, handlers, ORM, Alembic) and jupyterhub.metrics
    # (-> the ORM): ~0.3 s of CPU per start for modules a server never uses; prepare() stands in for two of them
    code = ("import sys, logging\n"
            "from types import SimpleNamespace\n"
            "from backstage.singleuser.__main__ import prepare, HUB_ONLY_MODULES\n"
            "prepare()\n"
            "import jupyterhub.singleuser, jupyterhub.singleuser.extension, jupyterhub.log\n"
            "from jupyter_server.base.handlers import APIHandler\n"
            "hub_only = sorted(m for m in ('alembic', 'jupyterhub.handlers.base', 'jupyterhub.user', 'jupyterhub.crypto')\n"
            "                  if m in sys.modules)\n"
            "stand_ins = all(sys.modules[m].__doc__.startswith('Stand-in') for m in HUB_ONLY_MODULES)\n"
            "# what jupyterhub.log does with the stand-in: one isinstance test in log_request\n"
            "handler = SimpleNamespace(get_status=lambda: 200, current_user='ada', _headers={}, request=SimpleNamespace(\n"
            "    uri='/user/ada/api/status', headers={}, method='GET', remote_ip='127.0.0.1', request_time=lambda: 0.01))\n"
            "seen = []\n"
            "logging.getLogger('tornado.access').log = lambda level, msg, *a, **k: seen.append((level, msg))\n"
            "jupyterhub.log.log_request(handler)\n"
            "try:\n"
            "    sys.modules['jupyterhub.orm'].User\n"
            "except AttributeError as e:\n"
            "    told = 'remove the stand-in' in str(e)\n"
            "print(hub_only, stand_ins, seen[0][0] == logging.INFO and 'GET /user/ada/api/status' in seen[0][1], told)\n")
    assert _printed_by_a_fresh_python(code, tmp_path) == "[] True True True"


def test_the_hub_modules_stood_in_for_are_used_by_jupyterhub_only_as_the_stand_ins_allow():
    # fails when a newer JupyterHub uses more of them in the modules a server imports: then re-check the stand-ins
    import inspect

    import jupyterhub.log
    import jupyterhub.metrics
    from backstage.singleuser.__main__ import HUB_ONLY_MODULES

    log_source = inspect.getsource(jupyterhub.log)
    assert "from .handlers.pages import HealthCheckHandler\n" in log_source
    assert log_source.count("HealthCheckHandler") == 2  # the import and one isinstance test
    metrics_source = inspect.getsource(jupyterhub.metrics)
    assert "from . import orm\n" in metrics_source
    assert set(HUB_ONLY_MODULES) == {"jupyterhub.handlers.pages", "jupyterhub.orm"}
    assert list(HUB_ONLY_MODULES["jupyterhub.handlers.pages"]) == ["HealthCheckHandler"]
