"""Public dashboards in the store (who set it and when) and the usage counts (batched, suppressed under 5)."""

import sqlite3

import nbformat
import pytest
from backstage.gallery.notebooks import validate_notebook
from backstage.gallery.store import Store, StoreError
from backstage.gallery.usage import FEWER_THAN, Usage
from prometheus_client import generate_latest


def _published(store, title="Bus stops", public=False):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(1)")])
    _, raw, sha = validate_notebook(nbformat.writes(nb), 10**6)
    item = store.add(author="ann", title=title, summary="s", topics=[], notebook=raw, sha256=sha)
    store.update(item["id"], status="awaiting-review")
    return store.publish(item["id"], "rev", public=public)


def test_a_dashboard_is_not_public_unless_the_reviewer_says_so_and_changes_are_recorded(tmp_path):
    store = Store(state_dir=str(tmp_path / "g"))
    item = _published(store)
    assert item["public"] is False and store.published_for("bus-stops")["public"] is False
    assert store.published_items(public_only=True) == []
    changed = store.set_public("bus-stops", True, "rita")
    assert changed["public"] is True and changed["public_by"] == "rita" and changed["public_at"] > 0
    assert [i["slug"] for i in store.published_items(public_only=True)] == ["bus-stops"]
    store.set_public(item["id"], False, "rob")
    assert [(c["public"], c["by"]) for c in store.visibility_changes(item["id"])] == [
        (False, "rev"), (True, "rita"), (False, "rob")]
    other = _published(store, "Trains", public=True)
    assert other["public"] is True and other["public_by"] == "rev"


@pytest.mark.parametrize("target, value, message", [
    ("no-such-dashboard", True, "no published dashboard"),
    ("../etc", True, "not a valid dashboard name"),
    ("bus-stops", "yes", "must be true or false"),
])
def test_bad_visibility_changes_are_refused_and_change_nothing(tmp_path, target, value, message):
    store = Store(state_dir=str(tmp_path / "g"))
    item = _published(store)
    with pytest.raises(StoreError, match=message):
        store.set_public(target, value, "rita")
    assert store.get(item["id"])["public"] is False and len(store.visibility_changes(item["id"])) == 1


def test_an_old_store_gains_the_public_columns_not_public(tmp_path):
    folder = tmp_path / "g"
    store = Store(state_dir=str(folder))
    item = _published(store)
    store.close()
    db = sqlite3.connect(folder / "gallery.sqlite")
    for column in ("public", "public_by", "public_at"):
        db.execute(f"ALTER TABLE submissions DROP COLUMN {column}")
    db.commit()
    db.close()
    store = Store(state_dir=str(folder))
    assert store.get(item["id"])["public"] is False and store.get(item["id"])["public_by"] is None


def test_usage_is_counted_by_kind_and_groups_under_five_are_suppressed(tmp_path):
    usage = Usage(tmp_path / "usage.sqlite")
    for _ in range(6):
        usage.record("bus-stops", 1, "official", "view", seconds=0.2)
    for _ in range(3):
        usage.record("bus-stops", 1, "anonymous", "view", seconds=0.05)
    usage.record("bus-stops", 1, "participant", "live", seconds=3.0)
    usage.record("other", 1, "official", "view")
    figures = usage.figures("bus-stops")
    assert figures["totals"]["views"] == {"official": 6, "participant": 0, "reviewer": 0, "anonymous": FEWER_THAN}
    assert figures["totals"]["live"] == FEWER_THAN and figures["totals"]["errors"] == 0
    assert len(figures["days"]) == 1 and figures["days"][0]["views"]["official"] == 6
    assert figures["time_to_content"]["view"] == {"p50": "0.25 s or less", "p95": "0.25 s or less"}
    assert figures["time_to_content"]["live"]["p50"] == FEWER_THAN + " timed"
    # durable: another instance on the same file reads the same counts
    usage.stop()
    assert Usage(tmp_path / "usage.sqlite").figures("bus-stops")["totals"]["views"]["official"] == 6
    metrics = generate_latest(usage.registry).decode()
    assert 'backstage_dashboard_views_total{dashboard="bus-stops",kind="official"} 6.0' in metrics


def test_usage_switched_off_counts_nothing_and_bad_records_are_refused(tmp_path):
    usage = Usage(tmp_path / "usage.sqlite", enabled=False)
    usage.record("bus-stops", 1, "official", "view")
    assert usage.figures("bus-stops")["days"] == []
    usage = Usage(tmp_path / "usage.sqlite")
    for args, message in [(("bus-stops", 1, "admin", "view"), "viewer kind"),
                          (("bus-stops", 1, "official", "click"), "usage event"),
                          (("Bus Stops", 1, "official", "view"), "not a valid dashboard name")]:
        with pytest.raises(ValueError, match=message):
            usage.record(*args)
    with pytest.raises(ValueError, match="non-negative"):
        usage.record("bus-stops", 1, "official", "view", seconds=-1)
    assert usage.figures("bus-stops")["days"] == []


def test_viewer_kinds_come_from_the_hub_groups_and_scopes():
    class Handler:
        settings = {}
    usage_kind = Usage.viewer_kind
    assert usage_kind(None, Handler(), None) == "anonymous"
    assert usage_kind(None, Handler(), {"name": "a", "groups": ["officials"], "scopes": []}) == "official"
    assert usage_kind(None, Handler(), {"name": "a", "groups": ["officials"],
                                        "scopes": ["custom:gallery:review"]}) == "reviewer"
    assert usage_kind(None, Handler(), {"name": "a", "groups": ["participants"], "scopes": []}) == "participant"


def test_usage_lives_beside_the_store_in_its_private_folder(tmp_path):
    store = Store(state_dir=str(tmp_path / "g"))
    usage = Usage(store)
    assert usage.path == tmp_path / "g" / "usage.sqlite" and usage.path.exists()
    assert oct(usage.path.stat().st_mode & 0o777) == "0o600"


def test_site_settings_of_the_gallery_come_from_its_json_file(tmp_path, monkeypatch):
    from backstage.gallery.app import site_config

    monkeypatch.setenv("BACKSTAGE_STATE", str(tmp_path))
    assert site_config() == {}
    (tmp_path / "gallery_config.json").write_text('{"Usage": {"enabled": false}}')
    assert site_config() == {"Usage": {"enabled": False}}
    for text, message in [("{not json", "not readable JSON"), ('{"Usage": false}', "must map class names")]:
        (tmp_path / "gallery_config.json").write_text(text)
        with pytest.raises(SystemExit, match=message):
            site_config()
