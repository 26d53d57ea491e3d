"""On a real lab (`backstage up`): a check still running when the lab stops leaves nothing behind (issue 11,
finding 3: a detached process with a cleared environment outlived the check, and the lab's own sweep, which
finds the lab's processes by an environment variable)."""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import pytest
import requests
from backstage.gallery.sandbox import processes_of
from backstage_testing.lab import delete_unix_users, running_lab

pytestmark = pytest.mark.integration


def _detaching_notebook(tag: str) -> dict:
    code = (
        "import subprocess, sys, time\n"
        f"child = 'import os, time\\nif os.fork(): os._exit(0)\\nos.setsid()\\nif os.fork(): os._exit(0)\\n"
        f"time.sleep(900)  # {tag}'\n"
        "subprocess.Popen([sys.executable, '-c', child], env={}, start_new_session=True).wait()\n"
        "time.sleep(900)  # still checking when the lab stops"
    )
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code)])
    return json.loads(nbformat.writes(nb))


def _tagged(tag: str) -> list[psutil.Process]:
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        if tag in " ".join(proc.info["cmdline"] or ()):
            found.append(proc)
    return found


def test_a_check_running_when_the_lab_stops_leaves_no_process_and_no_account():
    if os.geteuid() != 0:
        pytest.fail("run the tests as root: this checks that each check runs as its own Unix account")
    state = Path(tempfile.mkdtemp(prefix="backstage-lab-"))
    prefix = f"t{secrets.token_hex(2)}-"
    tag = f"detached-{secrets.token_hex(6)}"
    try:
        with running_lab(state, user_prefix=prefix, idle_timeout=0) as lab:
            lab.create_user("sbxauthor", groups=("participants",))
            token = lab.token_for("sbxauthor")
            r = requests.post(f"{lab.service_url('gallery')}api/submissions", timeout=60,
                              headers={"Authorization": f"token {token}"},
                              json={"title": "Leaves a process behind", "notebook": _detaching_notebook(tag)})
            assert r.status_code == 201, r.text
            deadline = time.monotonic() + 180
            while not (detached := _tagged(tag)) and time.monotonic() < deadline:
                time.sleep(0.5)
            assert detached, f"the check never started its detached process:\n{lab.log_text()[-3000:]}"
            uid = detached[0].uids().real
            account = pwd.getpwuid(uid).pw_name
            assert account.startswith("bkcheck-") and "BACKSTAGE_LAB_ID" not in detached[0].environ()
        # the lab has stopped (running_lab asserted it took at most 10 s and left no process of its own)
        assert processes_of(uid) == [], f"processes of the check account {account} outlived the lab:\n{lab.log_text()[-4000:]}"
        assert _tagged(tag) == []
        with pytest.raises(KeyError):
            pwd.getpwnam(account)
    finally:
        delete_unix_users(prefix)
        shutil.rmtree(state, ignore_errors=True)
