"""A hostile submission, during its checks, against the published dashboards (issue 11, findings 2, 3, 7).

Real parts: the dashboards' standalone Voilà with a preheated kernel pool, the checks' kernel, one-off Voilà
and Debian's Chromium, Unix accounts made and deleted by the gallery. The submission tries to (a) read the
dashboards' Voilà token, (b) run code in a waiting dashboard kernel through its connection file, (c) plant an
IPython startup file and a ``.pth`` file in the dashboards' home, (d) leave a detached process behind and
(e) reach a loopback service from the thumbnail's page; none of it may work, and nothing of it may outlive
the check.
"""

from __future__ import annotations

import asyncio
import http.server
import json
import os
import pwd
import re
import secrets
import subprocess
import sys
import threading
import time
from pathlib import Path

import nbformat
import psutil
import pytest
from backstage.gallery.checks import Checks
from backstage.gallery.notebooks import validate_notebook
from backstage.gallery.runas import CHECK_MAX_TASKS
from backstage.gallery.sandbox import Sandbox, processes_of
from backstage.gallery.store import Store
from backstage.gallery.voila import SOCKET_DIR_MAX, VoilaPool
from tornado.httpclient import AsyncHTTPClient

VICTIM = """import builtins
print("STATE", getattr(builtins, "PWNED", "original"))"""

# (a) the Voilà token: from every process's environment and command line, and Voilà's config folders
STEAL_TOKEN = r"""
import glob, os
found = []
for pid in os.listdir("/proc"):
    if not pid.isdigit():
        continue
    for part in ("environ", "cmdline"):
        try:
            text = open(f"/proc/{pid}/{part}", "rb").read().replace(b"\0", b" ").decode(errors="replace")
        except OSError:
            continue
        if "voila" in text.lower() or "VOILA" in text:
            found.append(f"{pid}/{part}: {text[:3000]}")
for path in glob.glob("/tmp/backstage-voila-*/*"):
    try:
        found.append(f"{path}: {open(path).read()}")
    except OSError:
        pass
print("READ", len(found))
print("\n".join(found))
"""

# (b) a waiting dashboard kernel, through its connection file
HIJACK_KERNEL = r"""
import glob, os
from jupyter_client import BlockingKernelClient
files = set(glob.glob("/tmp/**/kernel-*.json", recursive=True))
for pid in os.listdir("/proc"):
    try:
        args = open(f"/proc/{pid}/cmdline", "rb").read().split(b"\0")
    except OSError:
        continue
    files |= {a.decode() for a in args if a.endswith(b".json") and b"kernel-" in a}
hijacked = 0
for path in files:
    try:
        if os.stat(path).st_uid == os.getuid():
            continue  # our own kernel (its sockets' folder is the check's: any path, TMPDIR or not)
    except OSError:
        pass
    try:
        client = BlockingKernelClient(connection_file=path)
        client.load_connection_file()
        client.start_channels()
        client.execute("import builtins; builtins.PWNED = 'tampered'; open(%r, 'w').write('b')" % MARKER_B)
        client.get_shell_msg(timeout=5)
        hijacked += 1
    except Exception as e:
        print("no:", path, type(e).__name__)
print("HIJACKED", hijacked)
"""

# (c) an IPython startup file and a .pth file in every home the dashboards could use
PLANT_FILES = r"""
import glob, os, pwd
homes = set(glob.glob("/tmp/backstage-dashboards-home-*"))
for name in ("backstage-dashboards", "nobody"):
    try:
        homes.add(pwd.getpwnam(name).pw_dir)
    except KeyError:
        pass
payload = "import builtins; builtins.PWNED = 'tampered'; open(%r, 'w').write('c')\n" % MARKER_C
planted = 0
for home in homes:
    for rel, text in ((".ipython/profile_default/startup/00-backstage.py", payload),
                      (".local/lib/python3.11/site-packages/zz-backstage.pth", payload)):
        path = os.path.join(home, rel)
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, "w") as f:
                f.write(text)
            planted += 1
        except OSError as e:
            print("no:", path, type(e).__name__)
print("PLANTED", planted)
"""

# (d) a detached process: double fork, new session, cleared environment
DETACH = r"""
import os, subprocess, sys, time
pidfile = os.path.join(os.environ["TMPDIR"], "detached.pid")
code = ("import os, time\nif os.fork(): os._exit(0)\nos.setsid()\nif os.fork(): os._exit(0)\n"
        f"open({pidfile!r}, 'w').write(str(os.getpid()))\ntime.sleep(900)\n")
subprocess.Popen([sys.executable, "-c", code], env={}, start_new_session=True).wait()
for _ in range(100):
    if os.path.exists(pidfile) and open(pidfile).read():
        break
    time.sleep(0.1)
print("DETACHED", open(pidfile).read(), "UID", os.getuid())
import resource
print("NPROC", resource.getrlimit(resource.RLIMIT_NPROC)[0])
"""

# (e) the thumbnail's page tries a loopback service, and throws an error carrying what it found
PROBE_PAGE = """
from IPython.display import HTML
HTML('<img src="http://SERVICE/img" alt=""><script>fetch("http://SERVICE/fetch").catch(() => {});'
     'throw new Error("SECRET-PROBE-9c2e: port 22 open")</script>')
"""


@pytest.fixture
def loopback_service(tmp_path):
    hits: list[str] = []

    class Recorder(http.server.BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            hits.append(self.path)
            self.send_response(200)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"127.0.0.1:{server.server_address[1]}", hits
    server.shutdown()


@pytest.fixture
def markers(tmp_path):
    """A folder every account may write to: a marker there means the attack ran inside a dashboard."""
    folder = tmp_path / "markers"
    folder.mkdir()
    os.chmod(tmp_path, 0o755)  # noqa: S103 (test only: the dashboards' kernels must be able to leave a marker)
    os.chmod(folder, 0o777)  # noqa: S103
    return folder


async def _render(pool: VoilaPool, name: str) -> str:
    voila = pool.current
    r = await AsyncHTTPClient().fetch(f"{voila.url}voila/render/{name}", headers=voila.auth_header,
                                      request_timeout=120)
    return r.body.decode()


async def _listens_on(kernel: psutil.Process, sockets: set[str], within: float = 60) -> bool:
    """Whether the kernel listens on all of those Unix sockets, waiting for it to finish starting."""
    deadline = time.monotonic() + within
    while True:
        if sockets <= {c.laddr for c in kernel.net_connections("unix")}:
            return True
        if time.monotonic() > deadline or not kernel.is_running():
            return False
        await asyncio.sleep(0.5)


def _states(page: str) -> list[str]:
    return re.findall(r"STATE (\w+)", page)


def test_a_hostile_check_cannot_reach_the_dashboards_and_leaves_nothing_behind(
        tmp_path, markers, loopback_service, shared_datasets, monkeypatch):
    if os.geteuid() != 0:
        pytest.fail("run the tests as root: this checks the isolation between checks and dashboards")
    monkeypatch.setenv("GOVDATA_MIRROR", str(shared_datasets))
    asyncio.run(_hostile_check(tmp_path, markers, loopback_service))


async def _hostile_check(tmp_path, markers, loopback_service):
    service, hits = loopback_service
    published = tmp_path / "published"
    published.mkdir()
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(VICTIM)]), published / "victim.ipynb")
    store = Store(state_dir=str(tmp_path / "gallery"))
    sandbox = Sandbox(owner=str(store.root))
    pool = VoilaPool(str(published), run_as=sandbox.dashboards_account(), pool_size=1)
    await pool.start()
    try:
        assert _states(await _render(pool, "victim.ipynb")) == ["original"]
        voila_token = pool.current.token
        voila_family = [psutil.Process(pool.current.proc.pid), *psutil.Process(pool.current.proc.pid).children(True)]
        # the dashboards' kernels take their messages on Unix sockets in a folder only their account may enter, not
        # on TCP ports (a port picked for a kernel could be taken before it bound it: the page then hung)
        kernels = [p for p in voila_family[1:] if "ipykernel" in " ".join(p.cmdline())]
        assert kernels
        for kernel in kernels:
            connection = json.loads(Path(kernel.cmdline()[kernel.cmdline().index("-f") + 1]).read_text())
            assert connection["transport"] == "ipc", connection["transport"]
            channels = {f"{connection['ip']}-{connection[f'{name}_port']}" for name in
                        ("shell", "iopub", "stdin", "control", "hb")}
            # Voilà refills its pool as the page takes a kernel: that new one may still be importing, not yet bound
            assert await _listens_on(kernel, channels), "a kernel does not listen on its sockets within 60 s"
            folder = Path(connection["ip"]).parent.parent
            assert folder.stat().st_mode & 0o077 == 0 and folder.owner() == sandbox.dashboards_user
            assert len(str(folder)) <= SOCKET_DIR_MAX
        marker_b, marker_c = markers / "kernel-hijacked", markers / "startup-ran"
        nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in (
            f"MARKER_B, MARKER_C = {str(marker_b)!r}, {str(marker_c)!r}",
            STEAL_TOKEN, HIJACK_KERNEL, PLANT_FILES, DETACH, PROBE_PAGE.replace("SERVICE", service),
        )])
        _, raw, sha = validate_notebook(nbformat.writes(nb), 10**6)
        item = store.add(author="mallory", title="Hostile", summary="", topics=[], notebook=raw, sha256=sha)
        checks = Checks(store, sandbox=sandbox, template=pool.template)
        results = await checks.run(item["id"])

        assert results["execution"]["ok"], results
        executed = nbformat.read(store.path(item["id"], "executed.ipynb"), as_version=4)
        text = "\n".join(o.get("text", "") for c in executed.cells for o in c.get("outputs", []))
        # (a) the token is nowhere the check could read it, and not in the Voilà processes' environment or command line
        assert voila_token not in text
        for proc in voila_family:
            with open(f"/proc/{proc.pid}/environ", "rb") as f:
                environ = f.read().decode(errors="replace")
            assert voila_token not in environ and voila_token not in " ".join(proc.cmdline())
        # (b), (c): nothing ran in the dashboards, now or in kernels started after the check
        assert "HIJACKED 0" in text and "PLANTED 0" in text, text[:3000]
        for _ in range(2):  # the first view takes the preheated kernel; the second, one started after the check
            assert _states(await _render(pool, "victim.ipynb")) == ["original"]
        assert not marker_b.exists() and not marker_c.exists()
        # (d) no process of the check's account is alive, and the account is gone
        detached = next(line for line in text.splitlines() if "DETACHED" in line).split()
        pid, uid = int(detached[detached.index("DETACHED") + 1]), int(detached[detached.index("UID") + 1])
        assert uid not in (0, pwd.getpwnam(sandbox.dashboards_user).pw_uid)
        assert f"NPROC {CHECK_MAX_TASKS}" in text, "a fork bomb in a check would not stop"
        assert processes_of(uid) == [], "a process of the check's account outlived the check"
        # dead: gone, or a zombie waiting for init to reap it (no longer running), or the pid reused by another uid
        assert (not psutil.pid_exists(pid) or psutil.Process(pid).status() == psutil.STATUS_ZOMBIE
                or psutil.Process(pid).uids().real != uid)
        with pytest.raises(KeyError):
            pwd.getpwuid(uid)
        # (e) the thumbnail page reached nothing but its own Voilà, and the submitter sees our words only
        assert hits == [], f"the thumbnail's page reached a loopback service: {hits}"
        assert results["voila"]["refused_requests"] >= 2, results["voila"]
        assert "SECRET-PROBE" not in json.dumps(results) and "port 22" not in json.dumps(results)
    finally:
        await pool.stop()
        store.close()


def test_check_accounts_left_by_a_crash_are_removed_at_start_with_their_processes(tmp_path):
    if os.geteuid() != 0:
        pytest.fail("run the tests as root: this creates and deletes Unix accounts")
    crashed = Sandbox(owner=str(tmp_path / "gallery"))
    other_lab = Sandbox(owner=str(tmp_path / "another-gallery"))
    left, not_ours = crashed.create_check_account(), other_lab.create_check_account()
    try:
        detached = subprocess.Popen(  # as the gallery's kill -9 would leave it: a check process, detached
            [sys.executable, "-c", "import time\ntime.sleep(900)"], env={},
            user=left.run_as.uid, group=left.run_as.gid, extra_groups=[], start_new_session=True)
        restarted = Sandbox(owner=str(tmp_path / "gallery"))  # the same gallery, after its restart
        running = restarted.create_check_account()  # a check that started before the clean-up ran
        # a gallery of another lab that died during a check (its lab stopped with SIGKILL, never to restart)
        made = subprocess.run([sys.executable, "-c", "from backstage.gallery.sandbox import Sandbox\n"
                               f"print(Sandbox(owner={str(tmp_path / 'dead-lab')!r}).create_check_account().run_as.name)"],
                              check=True, capture_output=True, text=True)
        orphan = made.stdout.split()[-1]
        assert sorted(restarted.remove_leftovers()) == sorted([left.run_as.name, orphan])
        assert pwd.getpwnam(running.run_as.name) and running.work.exists()
        restarted.destroy(running)
        assert detached.wait(timeout=10) == -9
        assert processes_of(left.run_as.uid) == []
        with pytest.raises(KeyError):
            pwd.getpwnam(left.run_as.name)
        assert not left.work.exists()
        assert pwd.getpwnam(not_ours.run_as.name), "another gallery's check account was removed"
    finally:
        other_lab.destroy(not_ours)
        if left.run_as.name in {entry.pw_name for entry in pwd.getpwall()}:
            crashed.destroy(left)


def test_the_old_run_as_settings_warn_and_name_their_replacement(tmp_path, caplog):
    from traitlets.config import Config

    config = Config({"VoilaPool": {"run_as": "dash-" + secrets.token_hex(2)}, "Checks": {"run_as": "x"},
                     "Thumbnails": {"run_as": "y"}})
    sandbox = Sandbox(config=config)
    assert sandbox.dashboards_user == config.VoilaPool.run_as
    with caplog.at_level("WARNING"):
        VoilaPool("/nonexistent", config=config)
        store = Store(state_dir=str(tmp_path / "gallery"))
        Checks(store, sandbox=sandbox, config=config)
        store.close()
    text = caplog.text
    assert "VoilaPool.run_as is deprecated: use Sandbox.dashboards_user" in text
    assert "Checks.run_as is deprecated and ignored" in text and "Thumbnails.run_as is deprecated" in text
    assert "Sandbox.check_user_prefix" in text
