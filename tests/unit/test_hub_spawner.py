"""The spawner's file handling and its refusal to borrow system accounts (no hub needed)."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from backstage.spawner import BackstageSpawner, copy_starter_notebooks


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


def _spawner(name, **kw):
    return BackstageSpawner(user=SimpleNamespace(name=name, url="/user/x/", escaped_name=name), **kw)


def test_unix_names_carry_the_prefix(tmp_path):
    s = _spawner("ada", user_prefix="bk-", homes_dir=str(tmp_path))
    assert s.unix_name == "bk-ada"
    assert s.home == tmp_path / "bk-ada"


@pytest.mark.parametrize("name", ["root", "daemon", "nobody"])
def test_existing_system_accounts_are_never_used(tmp_path, name):
    s = _spawner(name, user_prefix="", homes_dir=str(tmp_path))
    with pytest.raises(RuntimeError, match="not made by the lab"):
        s._ensure_unix_user()


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
