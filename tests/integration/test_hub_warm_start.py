"""Warm servers (BackstageSpawner.warm_servers): on a real lab run as root, a person's server is one started
ahead of time, and it is theirs as a cold start's would be: their Unix account, umask and home, no secret of
the hub in its environment, their JupyterLab settings and file ids in their own home, code that runs."""

from __future__ import annotations

import json
import os
import pwd
import time
from concurrent.futures import ThreadPoolExecutor

import psutil
import pytest
import requests
from backstage_testing.lab import own_lab
from backstage_testing.loadsim import find_hub_and_proxy, wait_for_warm_servers

pytestmark = [pytest.mark.integration, pytest.mark.root]


@pytest.fixture(scope="module")
def warm_lab():
    assert os.geteuid() == 0, "a warm server becomes a person's Unix account: the tests must run as root"
    with own_lab("w", idle_timeout=0, gallery=False, start_limit=1, env={"BACKSTAGE_WARM_SERVERS": "3"}) as lab:
        admin = lab.login("admin", lab.admin_password)
        admin.get(f"{lab.url}/hub/home", timeout=60).raise_for_status()  # the hub's first spawner fills the pool
        hub, _ = find_hub_and_proxy(lab.process.pid)
        wait_for_warm_servers(hub, 3, timeout=300)
        yield lab


def _server_process(unix_name: str) -> psutil.Process:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        for proc in psutil.process_iter(["username", "cmdline"]):
            if proc.info["username"] == unix_name and "backstage.singleuser" in " ".join(proc.info["cmdline"] or ()):
                return proc
        time.sleep(0.5)
    raise AssertionError(f"no server process runs as {unix_name}")


def test_a_warm_server_is_handed_to_the_person_and_is_theirs(warm_lab):
    lab = warm_lab
    session = lab.create_user("warmada", groups=("participants",))
    server = lab.spawn(session)
    assert "Handed warm server" in lab.log_text() and "to warmada" in lab.log_text()  # not a new process
    unix_name = f"{lab.settings['user_prefix']}warmada"
    account = pwd.getpwnam(unix_name)
    home = lab.state_dir / "homes" / unix_name
    proc = _server_process(unix_name)
    assert "backstage.singleuser.warm" in " ".join(proc.cmdline())
    assert proc.uids().real == proc.uids().effective == account.pw_uid
    assert proc.gids().real == account.pw_gid and set(os.getgrouplist(unix_name, account.pw_gid)) >= {account.pw_gid}
    assert proc.cwd() == str(home)
    status = (open(f"/proc/{proc.pid}/status").read())
    assert "Umask:\t0022" in status
    assert os.readlink(f"/proc/{proc.pid}/fd/0") == "/dev/null"  # nothing more from the hub's pipe
    assert "CONFIGPROXY_AUTH_TOKEN" not in proc.environ() and "JUPYTERHUB_CRYPT_KEY" not in proc.environ()

    # the person's kernel: their account, their environment (inherited from the server's, not the warm one's)
    out = lab.execute("warmada", "import os, pwd; print(pwd.getpwuid(os.getuid()).pw_name, os.environ['HOME'], "
                                 "os.environ['JUPYTERHUB_USER'], 'CONFIGPROXY_AUTH_TOKEN' in os.environ)")
    assert out["error"] is None, out
    assert out["stdout"].split() == [unix_name, str(home), "warmada", "False"]

    # what modules of the server computed from the home at import is the person's (backstage.singleuser.warm)
    headers = {"Authorization": f"token {lab.token_for('warmada')}"}
    plugin = "@jupyterlab/apputils-extension:themes"
    r = requests.put(f"{server}/lab/api/settings/{plugin}", headers=headers, timeout=30,
                     json={"raw": json.dumps({"theme-scrollbars": True})})
    assert r.status_code == 204, r.text
    assert (home / ".jupyter" / "lab" / "user-settings" / "@jupyterlab" / "apputils-extension"
            / "themes.jupyterlab-settings").is_file()
    assert (home / ".local" / "share" / "jupyter" / "file_id_manager.db").is_file()  # collaboration's file ids


def test_people_handed_warm_servers_do_not_wait_in_the_start_queue(warm_lab):
    # the lab starts one server at a time (start_limit 1), but a warm start costs ~0.1 s of CPU: two people who
    # start at once both get one at once, neither told to wait
    lab = warm_lab
    sessions = [lab.create_user(name, groups=("participants",)) for name in ("warmbea", "warmcai")]
    tokens = [lab.token_for(s.username) for s in sessions]
    with ThreadPoolExecutor(2) as pool:  # at once: the hub answers a POST only once the start is done (or 10 s)
        answers = list(pool.map(lambda st: lab.api("POST", f"/users/{st[0].username}/server", token=st[1]),
                                zip(sessions, tokens, strict=True)))
    assert [r.status_code in (201, 202) for r in answers] == [True, True], [r.text for r in answers]
    for session in sessions:
        lab.spawn(session)  # already starting: waits until it answers
    log = lab.log_text()
    assert "to warmbea" in log and "to warmcai" in log
    assert "Start queue: warmbea waits" not in log and "Start queue: warmcai waits" not in log
