"""Stop and start again: nothing is left running, and people, groups, shares and passwords are kept."""

from __future__ import annotations

import os
import pwd
import secrets
import shutil
import tempfile
from pathlib import Path

import psutil
import pytest
from lab import delete_unix_users, running_lab

pytestmark = pytest.mark.integration


@pytest.fixture
def state():
    folder = Path(tempfile.mkdtemp(prefix="backstage-restart-"))
    prefix = f"r{secrets.token_hex(2)}-"
    yield folder, prefix
    delete_unix_users(prefix)
    shutil.rmtree(folder, ignore_errors=True)


def test_restart_keeps_people_groups_and_shares_and_leaves_no_process(state):
    folder, prefix = state
    settings = {"user_prefix": prefix, "gallery": False, "idle_timeout": 0}
    with running_lab(folder, admin_password="first-admin-password", **settings) as lab:
        first_start = lab.start_seconds
        ana = lab.create_user("ana", groups=("participants", "officials"))
        lab.create_user("ben", groups=("participants",))
        lab.spawn(ana)
        assert lab.execute("ana", "5 * 4")["result"] == "20"
        # a kernel left running on purpose: shutdown must stop it too
        token = lab.token_for("ana")
        import requests

        r = requests.post(f"{lab.url}/user/ana/api/kernels", json={}, timeout=30,
                          headers={"Authorization": f"token {token}"})
        assert r.status_code == 201
        r = lab.api("POST", "/shares/ana/", token=token, json={"user": "ben"})
        assert r.status_code == 200, r.text
        ana_uid = pwd.getpwnam(f"{prefix}ana").pw_uid if os.geteuid() == 0 else None
        password = ana.password
    # running_lab asserted: stopped within 10 s, and no process carrying the lab's id is left
    assert lab.stop_seconds <= 10
    if ana_uid is not None:
        left = [p.pid for p in psutil.process_iter(["uids"]) if p.info["uids"] and p.info["uids"].real == ana_uid]
        assert left == [], f"ana's processes left behind: {left}"

    with running_lab(folder, admin_password="first-admin-password", **settings) as again:
        # "the second start is seconds": no slower than the first (which also made the database),
        # measured in the same run so that a busy machine slows both alike
        assert again.start_seconds < max(20, 1.5 * first_start), \
            f"second start took {again.start_seconds:.1f} s (first {first_start:.1f} s)"
        users = {u["name"]: u for u in again.api("GET", "/users").json()}
        assert {"admin", "ana", "ben"} <= set(users)
        assert sorted(users["ana"]["groups"]) == ["officials", "participants"]
        assert users["ana"]["servers"] == {} or not users["ana"]["servers"][""]["ready"]
        shares = again.api("GET", "/shares/ana/").json()["items"]
        assert [s["user"]["name"] for s in shares] == ["ben"]
        again.login("ana", password)  # the sign-up store kept her password
    print(f"first start {first_start:.1f} s, stop {lab.stop_seconds:.1f} s, "
          f"second start {again.start_seconds:.1f} s, stop {again.stop_seconds:.1f} s")
