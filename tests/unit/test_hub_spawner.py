"""The spawner's file handling and its refusal to borrow system accounts (no hub needed)."""

from __future__ import annotations

import os
import pwd
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace

import pytest
from backstage.spawner import BackstageSpawner
from backstage.starters import copy_starter_notebooks, copy_starter_notebooks_as


def test_starter_notebooks_copied_once_and_edits_kept(tmp_path):
    source = tmp_path / "notebooks"
    (source / "data").mkdir(parents=True)
    (source / "01.ipynb").write_text("v1")
    (source / "data" / "a.csv").write_text("x")
    (source / ".ipynb_checkpoints").mkdir()
    home = tmp_path / "home"
    home.mkdir()
    copied = copy_starter_notebooks(source, home)
    assert sorted(p.relative_to(home).as_posix() for p in copied) == ["notebooks/01.ipynb", "notebooks/data/a.csv"]
    (home / "notebooks" / "01.ipynb").write_text("my edits")
    (source / "01.ipynb").write_text("v2")
    (source / "02.ipynb").write_text("new")
    copied = copy_starter_notebooks(source, home)
    assert [p.name for p in copied] == ["02.ipynb"]
    assert (home / "notebooks" / "01.ipynb").read_text() == "my edits"
    assert not (home / "notebooks" / ".ipynb_checkpoints").exists()


def test_a_link_left_in_the_home_is_never_written_through(tmp_path):
    """A participant's dangling link named like a starter file, or a linked folder, must not make the
    hub (root) write outside their home."""
    source = tmp_path / "notebooks"
    (source / "data").mkdir(parents=True)
    (source / "01.ipynb").write_text("starter")
    (source / "data" / "a.csv").write_text("x")
    outside = tmp_path / "outside"
    outside.mkdir()
    home = tmp_path / "home"
    (home / "notebooks").mkdir(parents=True)
    (home / "notebooks" / "01.ipynb").symlink_to(outside / "planted.ipynb")  # dangling
    (home / "notebooks" / "data").symlink_to(outside)  # a folder elsewhere
    copied = copy_starter_notebooks(source, home)
    assert copied == []
    assert list(outside.iterdir()) == []
    # the whole notebooks folder a link: nothing copied either
    home2 = tmp_path / "home2"
    home2.mkdir()
    (home2 / "notebooks").symlink_to(outside)
    assert copy_starter_notebooks(source, home2) == []
    assert list(outside.iterdir()) == []


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root: the copy runs as another Unix user")
def test_the_copy_runs_as_the_homes_owner():
    """Run as root, the copy is made by the person: files they own, and nothing they could not write."""
    tmp_path = Path(tempfile.mkdtemp(prefix="backstage-starters-"))  # pytest's own tmp is 0700 root
    try:
        os.chmod(tmp_path, 0o755)
        source = tmp_path / "notebooks"
        source.mkdir(mode=0o755)
        (source / "01.ipynb").write_text("starter")
        nobody = pwd.getpwnam("nobody")
        home = tmp_path / "home"
        home.mkdir(mode=0o700)
        os.chown(home, nobody.pw_uid, nobody.pw_gid)
        copied = copy_starter_notebooks_as(source, home, nobody.pw_uid, nobody.pw_gid)
        assert [p.name for p in copied] == ["01.ipynb"]
        assert (home / "notebooks" / "01.ipynb").stat().st_uid == nobody.pw_uid
        # a folder the person may not write to stays untouched, and the failure names the home
        locked = tmp_path / "locked"
        locked.mkdir(mode=0o755)
        with pytest.raises(RuntimeError, match="locked"):
            copy_starter_notebooks_as(source, locked, nobody.pw_uid, nobody.pw_gid)
        assert not (locked / "notebooks").exists()
    finally:
        shutil.rmtree(tmp_path, ignore_errors=True)


def _spawner(name, **kw):
    return BackstageSpawner(user=SimpleNamespace(name=name, url="/user/x/", escaped_name=name), **kw)


def test_unix_names_carry_the_prefix(tmp_path):
    s = _spawner("ada", user_prefix="bk-", homes_dir=str(tmp_path))
    assert s.unix_name == "bk-ada"
    assert s.home == tmp_path / "bk-ada"


@pytest.mark.parametrize("name", ["root", "daemon", "nobody"])
def test_existing_system_accounts_are_never_used(tmp_path, name):
    s = _spawner(name, user_prefix="", homes_dir=str(tmp_path))
    with pytest.raises(RuntimeError, match="not made by the lab") as refused:
        s._ensure_unix_user()
    # the person sees what happened and whom to tell on the spawn page, not a bare "500: Unhandled error"
    assert "tell the lab's organisers" in refused.value.jupyterhub_message


def test_one_person_lab_runs_as_me(tmp_path):
    import getpass

    s = _spawner("ada", isolate_users=False, homes_dir=str(tmp_path))
    assert s.unix_name == getpass.getuser()
    assert s.home == tmp_path / "ada"
    env = s.user_env({})
    assert env["HOME"] == str(tmp_path / "ada")


def test_mem_limit_is_enforced_per_process_with_rlimit_as(tmp_path):
    import subprocess
    import sys

    s = _spawner("ada", isolate_users=False, homes_dir=str(tmp_path), mem_limit="1G")
    s.home.mkdir()
    code = "import resource, os; print(resource.getrlimit(resource.RLIMIT_AS)[0], os.getcwd())"
    out = subprocess.run([sys.executable, "-c", code], preexec_fn=s.make_preexec_fn("ada"),
                         capture_output=True, text=True, check=True).stdout.split()
    assert out == [str(1024**3), str(s.home)]
    # and an allocation beyond it fails inside that process only
    grab = "b = bytearray(2 * 1024**3)"
    r = subprocess.run([sys.executable, "-c", grab], preexec_fn=s.make_preexec_fn("ada"), capture_output=True, text=True)
    assert r.returncode != 0 and "MemoryError" in r.stderr
