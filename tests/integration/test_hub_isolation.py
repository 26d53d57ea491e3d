"""Isolation as root: a participant's code runs as their own Unix user and reads nobody else's files,
nor the hub's database, cookie secret, sign-up store or the gallery's store."""

from __future__ import annotations

import json
import os
import pwd

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.root]

PROBE = """
import json, os
results = {}
for label, path in json.loads(%r).items():
    try:
        if os.path.isdir(path):
            os.listdir(path)
        else:
            open(path, "rb").read(1)
        results[label] = "read"
    except PermissionError:
        results[label] = "denied"
print(json.dumps(results))
"""


@pytest.fixture(scope="module")
def root():
    assert os.geteuid() == 0, "isolation needs the tests to run as root (each person's server as their own Unix user)"


def probe(lab, who, paths):
    out = lab.execute(who, PROBE % json.dumps({k: str(v) for k, v in paths.items()}))
    assert out["error"] is None, out
    return json.loads(out["stdout"])


def test_code_runs_as_the_persons_own_unix_user(lab, root, servers):
    out = lab.execute("hubana", "import os, pwd; print(pwd.getpwuid(os.getuid()).pw_name, os.getuid())")
    name, uid = out["stdout"].split()
    assert name == f"{lab.settings['user_prefix']}hubana"
    assert int(uid) == pwd.getpwnam(name).pw_uid != 0


def test_a_participant_reads_only_their_own_home(lab, root, servers):
    homes = lab.state_dir / "homes"
    prefix = lab.settings["user_prefix"]
    mine, theirs = homes / f"{prefix}hubana", homes / f"{prefix}hubrae"
    assert theirs.is_dir()
    result = probe(lab, "hubana", {
        "own home": mine, "own notebook": mine / "notebooks" / "01-welcome.ipynb",
        "another's home": theirs, "another's notebook": theirs / "notebooks" / "01-welcome.ipynb",
        "the list of homes": homes,
    })
    assert result == {"own home": "read", "own notebook": "read", "another's home": "denied",
                      "another's notebook": "denied", "the list of homes": "denied"}


def test_the_hubs_secrets_and_stores_are_out_of_reach(lab, root, servers):
    state = lab.state_dir
    secrets = {p.name: p for p in state.iterdir() if p.is_file()}
    for name in ("jupyterhub.sqlite", "jupyterhub_cookie_secret", "signups.sqlite"):
        assert name in secrets, f"{name} missing from {state}"
    # and everything else the services keep in the state folder (the gallery's store among them)
    # (not `homes`, nor `singleuser`: the lab's JupyterLab settings that every server reads, no secret in them)
    secrets.update({f"{p.name}/": p for p in state.iterdir() if p.is_dir() and p.name not in ("homes", "singleuser")})
    secrets["the state folder"] = state
    result = probe(lab, "hubana", secrets)
    assert result == dict.fromkeys(secrets, "denied")
