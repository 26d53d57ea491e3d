"""Integration fixtures: people of every group on the session's lab, and their running servers."""

from __future__ import annotations

import concurrent.futures

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
