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
