"""The starter kits: every kit in the repo is valid, and broken kits fail with errors that say how to fix them."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from backstage.kits import KitError, find_kit, list_kits, read_kit
from backstage.kits.catalog import kit_names

EXPECTED_KITS = {"gaps-between-places", "safer-roads-gm", "clean-air"}


def test_the_repo_holds_three_valid_kits_that_use_every_notebook(repo):
    kits = list_kits(repo)
    assert {k.name for k in kits} == EXPECTED_KITS
    used = {nb for k in kits for nb in k.notebooks}
    for kit in kits:
        assert kit.brief_path.read_text().strip(), kit.name
        assert all(p.is_file() for p in kit.notebook_files())
    starter = {f"notebooks/{p.name}" for p in (repo / "notebooks").glob("*.ipynb")}
    assert len(starter) == 6
    # every starter notebook but the election one is handed out by some kit
    assert starter - used == {"notebooks/05-general-election-2024.ipynb"}


def test_every_kit_dataset_is_in_the_govdata_catalog(repo):
    import govdata

    for kit in list_kits(repo):
        for dataset in kit.datasets:
            assert govdata.info(dataset).id == dataset


@pytest.fixture
def fake_repo(tmp_path, repo):
    """A copy of the kits and notebooks to break in different ways."""
    shutil.copytree(repo / "starter_kits", tmp_path / "starter_kits")
    shutil.copytree(repo / "notebooks", tmp_path / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    return tmp_path


def _edit(kit_file: Path, **changes):
    spec = yaml.safe_load(kit_file.read_text())
    for key, value in changes.items():
        if value is None:
            spec.pop(key)
        else:
            spec[key] = value
    kit_file.write_text(yaml.safe_dump(spec))


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"title": None}, "'title' is a required property"),
        ({"duration": "all afternoon"}, "at duration"),
        ({"datasets": []}, "at datasets"),
        ({"notebooks": ["../etc/passwd.ipynb"]}, "at notebooks/0"),
        ({"challenges": "why?"}, "at challenges"),
        ({"colour": "blue"}, "Additional properties are not allowed"),
        ({"notebooks": ["notebooks/99-missing.ipynb"]}, "notebooks/99-missing.ipynb"),
    ],
)
def test_a_broken_kit_yaml_is_refused_with_the_place_and_the_fix(fake_repo, changes, message):
    kit_file = fake_repo / "starter_kits/clean-air/kit.yaml"
    _edit(kit_file, **changes)
    with pytest.raises(KitError) as err:
        read_kit(kit_file.parent, fake_repo)
    assert message in str(err.value)
    assert str(kit_file) in str(err.value)


def test_malformed_yaml_and_missing_brief_are_named(fake_repo):
    folder = fake_repo / "starter_kits/clean-air"
    (folder / "brief.md").unlink()
    with pytest.raises(KitError, match="has no brief.md"):
        read_kit(folder, fake_repo)
    (folder / "kit.yaml").write_text("title: [unclosed\n")
    with pytest.raises(KitError, match="is not valid YAML"):
        read_kit(folder, fake_repo)


def test_an_unknown_kit_suggests_the_nearest_names(repo):
    with pytest.raises(KitError) as err:
        find_kit("saferroads", repo)
    assert "Did you mean 'safer-roads-gm'" in str(err.value)
    assert "Available kits: clean-air, gaps-between-places, safer-roads-gm" in str(err.value)
    with pytest.raises(KitError, match="No starter kit called 'zzz'"):
        find_kit("zzz", repo)


def test_folders_without_kit_yaml_are_not_kits(fake_repo):
    (fake_repo / "starter_kits/notes").mkdir()
    assert "notes" not in kit_names(fake_repo)
