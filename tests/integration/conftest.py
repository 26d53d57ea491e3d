"""Integration fixtures: people of every group on the session's lab, and their running servers."""

from __future__ import annotations

import concurrent.futures
import os
import pwd
import secrets
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

PEOPLE = {
    "hubana": ("participants",),
    "hubben": ("participants",),
    "hubolu": ("organisers",),
    "hubrae": ("reviewers",),
    "hubola": ("officials",),
}
WITH_SERVERS = ("hubana", "hubolu", "hubrae", "hubola")


@pytest.fixture(scope="session")
def people(lab):
    """Signed-in sessions of one person per group (and a second participant), by name."""
    return {name: lab.create_user(name, groups=groups) for name, groups in PEOPLE.items()}


@pytest.fixture(scope="session")
def servers(lab, people):
    """Running servers of a participant, an organiser, a reviewer and an official (spawned together)."""
    with concurrent.futures.ThreadPoolExecutor(len(WITH_SERVERS)) as pool:
        urls = dict(zip(WITH_SERVERS, pool.map(lambda n: lab.spawn(people[n]), WITH_SERVERS), strict=True))
    return urls


@pytest.fixture(scope="session")
def tokens(lab, people):
    """An API token per person (and the admin's)."""
    out = {name: lab.token_for(name) for name in people}
    out["admin"] = lab.admin_token
    return out


@pytest.fixture
def plain_user():
    """A throwaway ordinary Unix user (and its home) to run a one-person lab as; removed afterwards."""
    assert os.geteuid() == 0, "this test makes an ordinary Unix user to run the lab as: run the tests as root"
    name = f"bkplain{secrets.token_hex(2)}"
    home = Path(tempfile.mkdtemp(prefix="backstage-plain-"))
    subprocess.run(["useradd", "--no-create-home", "--home-dir", str(home), "--shell", "/usr/sbin/nologin",
                    "--user-group", name], check=True, capture_output=True)
    entry = pwd.getpwnam(name)
    os.chown(home, entry.pw_uid, entry.pw_gid)
    os.chmod(home, 0o700)
    yield entry, home
    subprocess.run(["pkill", "-KILL", "-u", name], check=False)
    subprocess.run(["userdel", name], check=False, capture_output=True)
    shutil.rmtree(home, ignore_errors=True)
