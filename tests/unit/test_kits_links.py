"""The hand-out links: nbgitpuller for a hub and Binder, built from the repository settings."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

import pytest
from backstage.kits import KitError, KitLinks


@pytest.mark.parametrize("hub", ["https://lab.example.org", "https://lab.example.org/", "https://lab.example.org/hub/"])
def test_nbgitpuller_link_targets_the_hub_user_redirect(hub):
    links = KitLinks(repo="https://github.com/acme/backstage.git", branch="hackday")
    url = links.nbgitpuller(hub, "notebooks/04-points-on-the-map.ipynb")
    parts = urlsplit(url)
    assert f"{parts.scheme}://{parts.netloc}{parts.path}" == "https://lab.example.org/hub/user-redirect/git-pull"
    assert parse_qs(parts.query) == {
        "repo": ["https://github.com/acme/backstage.git"],
        "branch": ["hackday"],
        "urlpath": ["lab/tree/backstage/notebooks/04-points-on-the-map.ipynb"],
    }


def test_binder_links_for_github_and_for_any_git_host():
    gh = KitLinks(repo="https://github.com/acme/backstage", branch="main").binder("notebooks/01-welcome.ipynb")
    assert gh == "https://mybinder.org/v2/gh/acme/backstage/main?urlpath=lab%2Ftree%2Fnotebooks%2F01-welcome.ipynb"
    other = KitLinks(repo="https://git.example.org/x/y.git", branch="v1", binder_url="https://binder.example.org/")
    assert other.binder("notebooks/a.ipynb") == (
        "https://binder.example.org/v2/git/https%3A%2F%2Fgit.example.org%2Fx%2Fy.git/v1?urlpath=lab%2Ftree%2Fnotebooks%2Fa.ipynb"
    )


def test_defaults_come_from_the_environment_at_use(monkeypatch):
    monkeypatch.setenv("BACKSTAGE_KIT_REPO", "file:///srv/kits/room-1.git")
    monkeypatch.setenv("BACKSTAGE_KIT_BRANCH", "event")
    links = KitLinks()
    assert (links.repo, links.branch, links.repo_dir) == ("file:///srv/kits/room-1.git", "event", "room-1")


@pytest.mark.parametrize("repo", ["not a url", "javascript:alert(1)", "/just/a/path"])
def test_a_repo_that_is_not_a_git_url_is_refused(repo):
    with pytest.raises(KitError, match="is not a git URL"):
        KitLinks(repo=repo)


@pytest.mark.parametrize("hub", ["lab.example.org", "ftp://lab", "javascript:alert(1)"])
def test_a_hub_that_is_not_an_http_url_is_refused(hub):
    with pytest.raises(KitError, match="is not the address of a hub"):
        KitLinks(repo="https://github.com/a/b").nbgitpuller(hub, "notebooks/x.ipynb")


@pytest.mark.parametrize("hub", ["https://lab.example.org", "https://lab.example.org/hub/"])
def test_the_lab_link_opens_the_notebook_every_home_holds_with_no_repository(hub, monkeypatch):
    monkeypatch.delenv("BACKSTAGE_KIT_REPO", raising=False)
    links = KitLinks()
    assert links.repo == ""
    assert links.lab(hub, "notebooks/04-points-on-the-map.ipynb") == (
        "https://lab.example.org/hub/user-redirect/lab/tree/notebooks/04-points-on-the-map.ipynb"
    )
    with pytest.raises(KitError, match="--repo"):
        links.binder("notebooks/x.ipynb")


@pytest.mark.parametrize("repo", [
    "https://github.com/government-backstage/government-backstage",
    "https://github.com/Government-Backstage/government-backstage.git/",
    "https://example.org/x", "https://git.example.com/a/b.git", "git://kits.invalid/room", "https://host.example/r",
])
def test_a_placeholder_repository_is_refused_with_the_fix(repo):
    with pytest.raises(KitError) as err:
        KitLinks(repo=repo).check_not_placeholder()
    assert "placeholder" in str(err.value) and "--repo https://github.com/OWNER/REPO" in str(err.value)
    assert "--allow-placeholder-repo" in str(err.value)


@pytest.mark.parametrize("repo", ["", "https://github.com/acme/backstage", "git://127.0.0.1:9418/kit",
                                  "file:///srv/kits/room.git", "https://examples.org/x"])
def test_real_repositories_and_none_pass(repo):
    KitLinks(repo=repo).check_not_placeholder()
