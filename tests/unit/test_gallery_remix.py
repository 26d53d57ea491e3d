"""Remix in my lab, offline: the copy the gallery hands out, what a submission of it is based on, the remix count,
the header's button, and the server's write that never overwrites and never follows a link."""

import os
import sqlite3

import nbformat
import pytest
from backstage.gallery.notebooks import validate_notebook
from backstage.gallery.proxy import dashboard_header
from backstage.gallery.remix import (
    RemixError,
    based_on_of,
    can_remix,
    lab_remix_url,
    remix_notebook,
    remixable_version,
)
from backstage.gallery.store import Store
from backstage.singleuser.remix import write_new_copy

v4 = nbformat.v4
URL = "http://gallery--service.localhost:8000/services/gallery/dashboards/squares"


def _snapshot():
    return v4.new_notebook(cells=[
        v4.new_markdown_cell("# Squares"),
        v4.new_markdown_cell("for me only", metadata={"tags": ["author-only"]}),
        v4.new_code_cell("import govdata\nlen(govdata.load('ons-population-mid2021'))"),
    ])


def _ran(nb, text="420"):
    ran = nbformat.from_dict(nbformat.reads(nbformat.writes(nb), as_version=4))
    ran.cells = [c for c in ran.cells if "author-only" not in c.metadata.get("tags", [])]
    ran.cells[-1].outputs = [v4.new_output("execute_result", {"text/plain": text}, execution_count=1)]
    ran.cells[-1].execution_count = 1
    return ran


ITEM = {"slug": "squares", "version": 3, "title": "Squares", "author": "ann",
        "datasets": [{"id": "ons-population-mid2021", "title": "Population"}]}


def test_the_copy_is_the_snapshot_with_the_gallerys_outputs_a_note_and_metadata_naming_the_original():
    nb = remix_notebook(_snapshot(), _ran(_snapshot()), ITEM, URL)
    assert [c.cell_type for c in nb.cells] == ["markdown", "markdown", "code"]
    assert nb.cells[0].source.startswith(f"*Based on [Squares]({URL}) v3 by ann.*")
    assert "for me only" not in nbformat.writes(nb)  # author-only cells stay out, as in the dashboard
    assert "ons-population-mid2021" in nb.cells[2].source  # the pinned dataset id, unchanged
    assert nb.cells[2].outputs[0]["data"]["text/plain"] == "420"
    assert nb.metadata["backstage"]["based_on"] == {"slug": "squares", "version": 3, "title": "Squares", "url": URL,
                                                   "author": "ann", "datasets": ["ons-population-mid2021"]}
    assert nb.metadata["kernelspec"]["name"] == "python3"  # it opens without asking which kernel
    nbformat.validate(nb)


def test_outputs_of_a_run_whose_code_differs_from_the_snapshot_are_not_handed_out():
    # the gallery's run is written by the submitted code itself: it could rewrite its own cells
    tampered = _ran(_snapshot())
    tampered.cells[-1].source = "import os; os.system('curl evil')"
    nb = remix_notebook(_snapshot(), tampered, ITEM, URL)
    assert nb.cells[-1].source.startswith("import govdata") and nb.cells[-1].outputs == []
    assert remix_notebook(_snapshot(), None, ITEM, URL).cells[-1].outputs == []


def test_a_copy_with_huge_outputs_goes_without_them():
    nb = remix_notebook(_snapshot(), _ran(_snapshot(), text="x" * 50_000), ITEM, URL, max_bytes=10_000)
    assert nb.cells[-1].outputs == []


@pytest.mark.parametrize("title", ["[click](javascript:alert(1))", "<img src=x onerror=alert(1)>", "*bold* `code`"])
def test_a_hostile_title_is_shown_as_text_in_the_note(title):
    note = remix_notebook(_snapshot(), None, {**ITEM, "title": title}, URL).cells[0].source
    assert "<img" not in note and "](javascript" not in note and "*bold*" not in note
    assert note.count(f"]({URL})") == 1


def _store_with_versions(tmp_path):
    store = Store(state_dir=str(tmp_path / "g"))
    ids = []
    for code in ("print(1)", "print(2)", "print(3)"):
        _, raw, sha = validate_notebook(nbformat.writes(v4.new_notebook(cells=[v4.new_code_cell(code)])), 10**6)
        ids.append(store.add(author="ann", title="Squares", summary="", topics=[], notebook=raw, sha256=sha)["id"])
    for submission_id in ids[:2]:
        store.update(submission_id, status="awaiting-review")
        store.publish(submission_id, "rev")
    return store, ids  # v1 superseded, v2 published, v3 still checking


@pytest.mark.parametrize(("slug", "version", "status"), [
    ("squares", "1", None), ("squares", "2", None), ("squares", 2, None),
    ("squares", "3", 404),  # never approved
    ("squares", "4", 404), ("other", "1", 404),
    ("..", "1", 400), ("../etc", "1", 400), ("Squares", "1", 400), ("squares%2f..", "1", 400), ("", "1", 400),
    ("squares", "0", 400), ("squares", "-1", 400), ("squares", "1e3", 400), ("squares", "99999999999999999999", 400),
    ("squares", "01", 400), ("squares", "", 400), ("squares", None, 400), ("squares", True, 400), (None, "1", 400),
])
def test_only_an_approved_version_can_be_remixed_and_hostile_names_are_refused(tmp_path, slug, version, status):
    store, _ = _store_with_versions(tmp_path)
    if status is None:
        assert remixable_version(store, slug, version)["version"] == int(version)
    else:
        with pytest.raises(RemixError) as e:
            remixable_version(store, slug, version)
        assert e.value.status == status and "Remix in my lab" in str(e.value)


def test_a_submission_is_based_on_what_the_gallery_holds_not_what_the_notebook_claims(tmp_path):
    store, _ = _store_with_versions(tmp_path)

    def claim(based_on):
        return based_on_of(v4.new_notebook(metadata={"backstage": {"based_on": based_on}}), store)

    assert claim({"slug": "squares", "version": 1, "title": "Forged", "url": "javascript:alert(1)"}) == {
        "slug": "squares", "version": 1, "title": "Squares", "author": "ann"}
    for bad in ({"slug": "squares", "version": 3}, {"slug": "../x", "version": 1}, {"slug": "squares"}, "squares", None,
                {"slug": ["squares"], "version": 1}):
        assert claim(bad) is None
    assert based_on_of(v4.new_notebook(metadata={"backstage": "x"}), store) is None
    assert based_on_of(v4.new_notebook(), store) is None


def test_the_remix_count_is_people_per_dashboard_and_the_based_on_column_is_added_to_an_old_store(tmp_path):
    store, ids = _store_with_versions(tmp_path)
    assert store.get(ids[1])["remixes"] == 0
    store.record_remix("squares", 2, "bob")
    store.record_remix("squares", 2, "bob")  # a second copy by the same person
    store.record_remix("squares", 1, "bob")
    assert store.published_for("squares")["remixes"] == 1
    store.record_remix("squares", 2, "cat")
    assert store.published_for("squares")["remixes"] == 2
    store.close()

    old = tmp_path / "old"
    old.mkdir()
    db = sqlite3.connect(old / "gallery.sqlite")
    db.execute("CREATE TABLE submissions (id TEXT PRIMARY KEY, author TEXT NOT NULL, title TEXT NOT NULL, summary TEXT"
               " NOT NULL, topics TEXT NOT NULL DEFAULT '[]', slug TEXT NOT NULL, version INTEGER NOT NULL, status TEXT"
               " NOT NULL, sha256 TEXT NOT NULL, created REAL NOT NULL, updated REAL NOT NULL, checks TEXT NOT NULL"
               " DEFAULT '{}', datasets TEXT NOT NULL DEFAULT '[]', comments TEXT NOT NULL DEFAULT '[]', published_at"
               " REAL)")
    db.execute("INSERT INTO submissions (id, author, title, summary, slug, version, status, sha256, created, updated)"
               " VALUES ('a'||hex(randomblob(15)), 'ann', 'T', '', 't', 1, 'published', 'x', 0, 0)")
    db.commit()
    db.close()
    item = Store(state_dir=str(old)).published_for("t")
    assert item["based_on"] is None and item["remixes"] == 0


def test_the_header_offers_remix_only_when_given_the_version_and_escapes_it():
    assert "Remix" not in dashboard_header("T", "/services/gallery/")
    header = dashboard_header("<b>T</b>", "/services/gallery/", slug="squares", version=3)
    assert '<a href="/services/gallery/remix/squares/3"' in header and ">Remix in my lab</a>" in header
    assert "<b>T</b>" not in header


def test_who_has_a_lab_to_remix_into_and_where_the_button_leads():
    assert can_remix({"name": "a", "groups": ["participants"]}) and can_remix({"name": "x", "admin": True})
    assert not can_remix({"name": "o", "groups": ["officials", "reviewers"]}) and not can_remix(None)
    assert lab_remix_url("a-b", 3, "http://localhost:8000/hub/") == \
        "http://localhost:8000/hub/user-redirect/backstage/remix?dashboard=a-b&version=3"


def test_the_servers_copy_never_overwrites_and_never_follows_a_link(tmp_path):
    home = tmp_path / "home"
    home.mkdir()
    assert write_new_copy(home, "remixes", "squares-v3", b"one") == "squares-v3.ipynb"
    assert write_new_copy(home, "remixes", "squares-v3", b"two") == "squares-v3-2.ipynb"
    outside = tmp_path / "outside.ipynb"
    os.symlink(outside, home / "remixes" / "squares-v3-3.ipynb")  # a dangling link named like the next copy
    assert write_new_copy(home, "remixes", "squares-v3", b"three") == "squares-v3-4.ipynb"
    assert not outside.exists()
    assert [(home / "remixes" / n).read_bytes() for n in ("squares-v3.ipynb", "squares-v3-2.ipynb",
                                                          "squares-v3-4.ipynb")] == [b"one", b"two", b"three"]

    linked = tmp_path / "linked"
    linked.mkdir()
    (tmp_path / "elsewhere").mkdir()
    os.symlink(tmp_path / "elsewhere", linked / "remixes")  # the folder itself is a link
    with pytest.raises(NotADirectoryError):
        write_new_copy(linked, "remixes", "squares-v3", b"x")
    assert list((tmp_path / "elsewhere").iterdir()) == []
    (tmp_path / "file").mkdir()
    (tmp_path / "file" / "remixes").write_text("a file")
    with pytest.raises(NotADirectoryError):
        write_new_copy(tmp_path / "file", "remixes", "squares-v3", b"x")
