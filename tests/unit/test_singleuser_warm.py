"""A warm server (backstage.singleuser.warm) becomes a person's with nothing of the process it was before.

The audit walks every module a warm server has loaded (module globals, class attributes, trait defaults
and traitlets' copies of them) for a value holding the warm process's home folder or user name: a module
that computes one at import would give the person root's folders. It runs in a fresh Python, as a start does.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import pytest
from backstage.warmpool import WarmPool

AUDIT = r"""
import json, os, sys, types
from backstage.singleuser.warm import become, preload

warm_home, warm_user = os.environ["HOME"], os.environ["USER"]
preload()
person_home = sys.argv[1]
if sys.argv[2] == "become":
    become({"unix_name": None, "home": person_home, "mem_limit": None,
            "env": {"HOME": person_home, "USER": "ada", "PATH": os.environ["PATH"], "JUPYTERHUB_USER": "ada"},
            "argv": ["backstage-singleuser", "--debug"]})
# the interpreter's own start-up values: a venv has no user site (site.ENABLE_USER_SITE is False)
EXPECTED = {"site.USER_SITE", "site.USER_BASE"}
found = []

def check(where, value):
    if isinstance(value, bytes):
        value = os.fsdecode(value)
    if isinstance(value, os.PathLike):
        value = os.fspath(value)
    if isinstance(value, str) and (value.startswith(warm_home) or value == warm_user) and where not in EXPECTED:
        found.append(where)

for name, module in list(sys.modules.items()):
    if not isinstance(module, types.ModuleType) or name in ("__main__", "__mp_main__"):  # the audit itself
        continue
    for key, value in list(vars(module).items()):
        check(f"{name}.{key}", value)
        if isinstance(value, type) and value.__module__ == name:
            for attribute, member in list(vars(value).items()):
                check(f"{name}.{key}.{attribute}", member)
                if isinstance(member, dict):
                    for k, v in list(member.items()):
                        check(f"{name}.{key}.{attribute}[{k!r}]", v)
                trait_default = vars(member).get("default_value") if hasattr(member, "__dict__") else None
                check(f"{name}.{key}.{attribute}.default_value", trait_default)
print(json.dumps({"found": sorted(set(found)), "cwd": os.getcwd(), "umask": os.umask(0o022),
                  "env": dict(os.environ), "argv": sys.argv, "stdin": os.read(0, 10).decode()}))
"""


def _audit(tmp_path, mode: str) -> dict:
    warm_home, person_home = tmp_path / "warm-home", tmp_path / "ada-home"
    warm_home.mkdir()
    person_home.mkdir()
    env = {"HOME": str(warm_home), "USER": "warm-user-7f3a", "PATH": os.environ["PATH"]}
    out = subprocess.run([sys.executable, "-P", "-c", AUDIT, str(person_home), mode], capture_output=True,
                         text=True, env=env, cwd="/", timeout=180, stdin=subprocess.PIPE)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_the_audit_finds_what_modules_computed_from_the_warm_home_at_import(tmp_path):
    # without become(): JupyterLab's settings and workspaces folders, the file-id database, send2trash's trash
    found = _audit(tmp_path, "stay")["found"]
    assert "jupyterlab.labapp.LabApp.user_settings_dir.default_value" in found
    assert "jupyterlab.labapp.LabApp.workspaces_dir.default_value" in found
    assert "jupyter_server_fileid.manager.default_db_path" in found
    assert "send2trash.plat_other.HOMETRASH" in found
    assert "jupyter_client.session.Session.username.default_value" in found


def test_a_warm_server_becomes_the_person_with_nothing_of_the_warm_home_left(tmp_path):
    result = _audit(tmp_path, "become")
    assert result["found"] == []
    assert result["cwd"] == str(tmp_path / "ada-home")
    assert result["umask"] == 0o022
    assert result["env"]["HOME"] == str(tmp_path / "ada-home") and result["env"]["JUPYTERHUB_USER"] == "ada"
    assert result["argv"] == ["backstage-singleuser", "--debug"]
    assert result["stdin"] == ""  # it reads nothing more from the hub's pipe


def test_a_pool_of_zero_starts_nothing_and_a_negative_size_is_refused():
    pool = WarmPool(0, env={})
    assert pool.fill() == 0 and pool.take({"home": "/"}) is None
    with pytest.raises(ValueError, match="set warm_servers to 0"):
        WarmPool(-1, env={})


def test_a_pool_hands_over_a_live_process_once_and_ends_the_others_at_close(tmp_path):
    # a stand-in warm server that prints what it was handed (the real one needs root to become someone)
    script = tmp_path / "warm.py"
    script.write_text("import sys, os\nline = sys.stdin.readline()\nopen(os.environ['OUT'] + str(os.getpid()), 'w')"
                      ".write(line)\n")
    pool = WarmPool(2, env={"OUT": str(tmp_path / "got-"), "PATH": os.environ["PATH"]},
                    command=[sys.executable, str(script)])
    assert pool.fill() == 2 and pool.fill() == 0 and pool.waiting == 2
    proc = pool.take({"home": "/srv/ada", "env": {"JUPYTERHUB_API_TOKEN": "secret"}})
    assert proc.wait(30) == 0
    assert json.loads((tmp_path / f"got-{proc.pid}").read_text())["home"] == "/srv/ada"
    assert pool.waiting == 1
    pool.close()  # end of input: the other one exits having been handed nothing
    assert pool.waiting == 0
    others = [p for p in tmp_path.glob("got-*") if p.name != f"got-{proc.pid}"]
    assert len(others) == 1 and others[0].read_text() == ""


def test_a_pool_refills_a_core_at_a_time_and_only_while_the_machine_is_quiet(tmp_path):
    import asyncio

    script = tmp_path / "warm.py"
    script.write_text("import sys\nsys.stdin.readline()\n")
    cores = os.cpu_count() or 1
    pool = WarmPool(cores + 1, env={"PATH": os.environ["PATH"]}, refill_after=60,
                    command=[sys.executable, str(script)])
    load = {"now": cores + 10.0}
    pool.load_average = lambda: load["now"]

    async def scenario():
        pool._refill_if_quiet()  # what the timer set by refill_later() calls
        busy = pool.waiting  # a room at work: nothing started, checked again later
        rescheduled = pool._refill is not None
        load["now"] = 0.0
        pool._refill_if_quiet()
        first = pool.waiting  # quiet: one core's worth per check
        pool._refill_if_quiet()
        pool.cancel_refill()
        return busy, rescheduled, first, pool.waiting

    try:
        assert asyncio.run(scenario()) == (0, True, cores, cores + 1)
    finally:
        pool.close()
