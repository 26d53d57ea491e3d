"""Who reaches what: every group and anonymous against own server, another's server, a shared
server, the admin API, the metrics and the share page (API tokens; expected status codes).

Set-up: hubana (participant) shares her server with hubrae (a person) and the group `officials`.
"""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.integration

OWN, OTHERS, SHARED = "/user/{me}/api/status", "/user/{other}/api/status", "/user/hubana/api/status"
ADMIN_API, METRICS, SHARE_PAGE = "/hub/api/users", "/hub/metrics", "/services/share/"

# (who, what, path, expected status); {me} is the person, {other} someone whose server is not shared with them
CASES = [
    # anonymous: nothing but a redirect to sign in
    ("anonymous", "another's server", "/user/hubolu/api/status", 403),
    ("anonymous", "a shared server", SHARED, 403),
    ("anonymous", "admin API", ADMIN_API, 403),
    ("anonymous", "metrics", METRICS, 403),
    ("anonymous", "share page", SHARE_PAGE, 302),
    # participant (owner of the shared server)
    ("hubana", "own server", OWN, 200),
    ("hubana", "another's server", "/user/hubolu/api/status", 403),
    ("hubana", "admin API", ADMIN_API, 403),
    ("hubana", "metrics", METRICS, 403),
    ("hubana", "share page", SHARE_PAGE, 200),
    # a second participant: the shared server was not shared with them
    ("hubben", "another's server", "/user/hubolu/api/status", 403),
    ("hubben", "a server shared with others", SHARED, 403),
    ("hubben", "admin API", ADMIN_API, 403),
    ("hubben", "share page", SHARE_PAGE, 200),
    # organiser
    ("hubolu", "own server", OWN, 200),
    ("hubolu", "another's server", "/user/hubrae/api/status", 403),
    ("hubolu", "a server shared with others", SHARED, 403),
    ("hubolu", "admin API", ADMIN_API, 403),
    ("hubolu", "metrics", METRICS, 403),
    ("hubolu", "share page", SHARE_PAGE, 200),
    # reviewer: ana's server shared with them by name
    ("hubrae", "own server", OWN, 200),
    ("hubrae", "another's server", "/user/hubolu/api/status", 403),
    ("hubrae", "shared server", SHARED, 200),
    ("hubrae", "admin API", ADMIN_API, 403),
    ("hubrae", "share page", SHARE_PAGE, 200),
    # official: ana's server shared with their group
    ("hubola", "own server", OWN, 200),
    ("hubola", "another's server", "/user/hubolu/api/status", 403),
    ("hubola", "shared server (via group)", SHARED, 200),
    ("hubola", "admin API", ADMIN_API, 403),
    ("hubola", "share page", SHARE_PAGE, 200),
    # admin
    ("admin", "another's server", "/user/hubolu/api/status", 200),
    ("admin", "admin API", ADMIN_API, 200),
    ("admin", "metrics", METRICS, 200),
]


@pytest.fixture(scope="module")
def shared(lab, servers, tokens):
    ana = {"Authorization": f"token {tokens['hubana']}"}
    for body in ({"user": "hubrae"}, {"group": "officials"}):
        r = requests.post(f"{lab.hub_api}/shares/hubana/", json=body, headers=ana, timeout=30)
        assert r.status_code == 200, r.text
    yield
    r = requests.delete(f"{lab.hub_api}/shares/hubana/", headers=ana, timeout=30)
    assert r.status_code == 204, r.text


@pytest.mark.parametrize("who, what, path, expected", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_access(lab, shared, tokens, who, what, path, expected):
    headers = {} if who == "anonymous" else {"Authorization": f"token {tokens[who]}"}
    url = lab.url + path.format(me=who)
    r = requests.get(url, headers=headers, allow_redirects=False, timeout=30)
    assert r.status_code == expected, f"{who} -> {what} ({url}): {r.status_code}, expected {expected}"
    if expected == 302:
        assert "/hub/" in r.headers["Location"]


def test_token_of_a_participant_cannot_act_on_others(lab, people, tokens):
    ana = {"Authorization": f"token {tokens['hubana']}"}
    assert requests.post(f"{lab.hub_api}/users/hubben/server", headers=ana, timeout=30).status_code in (403, 404)
    assert requests.post(f"{lab.hub_api}/users/hubben/tokens", json={}, headers=ana, timeout=30).status_code in (403, 404)
    assert requests.post(f"{lab.hub_api}/shares/hubben/", json={"user": "hubana"}, headers=ana,
                         timeout=30).status_code in (403, 404)
    assert requests.post(f"{lab.hub_api}/groups/organisers/users", json={"users": ["hubana"]}, headers=ana,
                         timeout=30).status_code in (403, 404)
