"""The gallery store: durable submissions, versions, publication, and what survives a kill -9."""

import os
import signal
import stat
import subprocess
import sys
import textwrap

import nbformat
import pytest
from backstage.gallery.notebooks import validate_notebook
from backstage.gallery.store import Store, StoreError, check_slug, slugify


def _notebook(code="print(1)"):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(code)]
    return validate_notebook(nbformat.writes(nb), 10**6)


def _add(store, author="ann", title="Bus stops", code="print(1)"):
    _, raw, sha = _notebook(code)
    return store.add(author=author, title=title, summary="s", topics=["transport"], notebook=raw, sha256=sha)


def test_state_folder_is_private_and_snapshots_read_only(tmp_path):
    store = Store(state_dir=str(tmp_path / "g"))
    item = _add(store)
    assert stat.S_IMODE(os.stat(tmp_path / "g").st_mode) == 0o700
    snapshot = store.path(item["id"], "submitted.ipynb")
    assert stat.S_IMODE(snapshot.stat().st_mode) == 0o400
    assert nbformat.read(snapshot, as_version=4).cells[0].source == "print(1)"
    assert item["status"] == "checking" and item["slug"] == "bus-stops" and item["version"] == 1


def test_resubmission_is_a_new_version_and_approval_supersedes_the_old_one(tmp_path):
    store = Store(state_dir=str(tmp_path / "g"))
    first = _add(store)
    store.update(first["id"], status="awaiting-review")
    store.publish(first["id"], "rev")
    second = _add(store, code="print(2)")
    assert second["slug"] == first["slug"] and second["version"] == 2
    store.update(second["id"], status="awaiting-review")
    store.publish(second["id"], "rev")
    assert store.get(first["id"])["status"] == "superseded"
    assert store.published_for("bus-stops")["id"] == second["id"]
    published = nbformat.read(store.published / "bus-stops.ipynb", as_version=4)
    assert published.cells[0].source == "print(2)"
    # the first snapshot is immutable: still the old code
    assert "print(1)" in store.path(first["id"], "submitted.ipynb").read_text()


def test_same_title_by_another_author_gets_its_own_slug(tmp_path):
    store = Store(state_dir=str(tmp_path / "g"))
    assert _add(store, author="ann")["slug"] == "bus-stops"
    other = _add(store, author="bob")
    assert other["slug"] == "bus-stops-bob" and other["version"] == 1


def test_only_checked_submissions_can_be_approved_and_rejection_needs_the_right_state(tmp_path):
    store = Store(state_dir=str(tmp_path / "g"))
    item = _add(store)
    with pytest.raises(StoreError, match="only a checked submission"):
        store.publish(item["id"], "rev")
    store.update(item["id"], status="awaiting-review")
    rejected = store.reject(item["id"], "rev", "please add a title cell")
    assert rejected["status"] == "rejected" and rejected["comments"][-1]["text"] == "please add a title cell"
    with pytest.raises(StoreError, match="not published"):
        store.unpublish(item["id"], "rev", "x")


@pytest.mark.parametrize("bad", ["../etc", "%2e%2e%2f", "/abs", "voila", "api", "", "A", "a/b", "a" * 64, "..", "-x"])
def test_hostile_slugs_are_refused(bad):
    with pytest.raises(StoreError, match="not a valid dashboard name"):
        check_slug(bad)


@pytest.mark.parametrize("bad_id", ["../x", "%2e%2e%2f", "0" * 31, "Z" * 32, "/etc/passwd"])
def test_unknown_or_hostile_ids_are_refused_with_a_hint(tmp_path, bad_id):
    store = Store(state_dir=str(tmp_path / "g"))
    with pytest.raises(StoreError, match="submission id|no submission"):
        store.get(bad_id)


def test_slugify_keeps_only_safe_characters():
    assert slugify('<script>alert("x")</script> Bus ../stops') == "script-alert-x-script-bus-stops"
    assert slugify("!!!") == "dashboard"


def test_an_acknowledged_submission_survives_kill_9(tmp_path):
    """A child process stores a submission, reports it, then is SIGKILLed at once; it is all there."""
    state = tmp_path / "g"
    script = textwrap.dedent(f"""
        import os, sys, nbformat
        from backstage.gallery.store import Store
        from backstage.gallery.notebooks import validate_notebook
        nb = nbformat.v4.new_notebook(); nb.cells = [nbformat.v4.new_code_cell("x = 42")]
        _, raw, sha = validate_notebook(nbformat.writes(nb), 10**6)
        item = Store(state_dir={str(state)!r}).add(author="ann", title="Kept", summary="", topics=[],
                                                   notebook=raw, sha256=sha)
        print(item["id"], flush=True)
        sys.stdin.read()
    """)
    proc = subprocess.Popen([sys.executable, "-c", script], stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    submission_id = proc.stdout.readline().strip()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    store = Store(state_dir=str(state))
    item = store.get(submission_id)
    assert item["title"] == "Kept" and item["status"] == "checking"
    assert "x = 42" in store.path(submission_id, "submitted.ipynb").read_text()


def test_the_idea_a_submission_answers_is_stored_and_an_older_store_gains_the_column(tmp_path):
    import sqlite3

    folder = tmp_path / "g"
    folder.mkdir()
    old = sqlite3.connect(folder / "gallery.sqlite")  # a store made before ideas were linked
    old.executescript("CREATE TABLE submissions (id TEXT PRIMARY KEY, author TEXT NOT NULL, title TEXT NOT NULL,"
                      " summary TEXT NOT NULL, topics TEXT NOT NULL DEFAULT '[]', slug TEXT NOT NULL,"
                      " version INTEGER NOT NULL, status TEXT NOT NULL, sha256 TEXT NOT NULL, created REAL NOT NULL,"
                      " updated REAL NOT NULL, checks TEXT NOT NULL DEFAULT '{}', datasets TEXT NOT NULL DEFAULT '[]',"
                      " comments TEXT NOT NULL DEFAULT '[]', published_at REAL);"
                      "INSERT INTO submissions (id, author, title, summary, slug, version, status, sha256, created,"
                      " updated) VALUES ('" + "a" * 32 + "', 'ann', 'Old', '', 'old', 1, 'published', 'x', 1, 1);")
    old.close()
    store = Store(state_dir=str(folder))
    assert store.get("a" * 32)["idea"] is None
    _, raw, sha = _notebook()
    item = store.add(author="ann", title="New", summary="", topics=[], notebook=raw, sha256=sha, idea=12)
    named = store.add(author="ann", title="Named", summary="", topics=[], notebook=raw, sha256=sha, idea="idea-7")
    assert store.get(item["id"])["idea"] == 12 and store.get(named["id"])["idea"] == "idea-7"
