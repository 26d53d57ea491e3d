"""Who reaches what: every group and anonymous against own server, another's server, a shared
server, the admin API, the metrics and the share page (API tokens; expected status codes).

Set-up: hubana (participant) shares her server with hubrae (a person) and the group `officials`.
"""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
import requests

pytestmark = pytest.mark.integration

# Where: a person's server or a service as the proxy routes it (each on an origin of its own), or a hub path.
def server(name):
    return lambda lab, me: f"{lab.user_url(name.format(me=me))}/api/status"


def hub(path):
    return lambda lab, me: lab.url + path


OWN, SHARED = server("{me}"), server("hubana")
ADMIN_API, METRICS = hub("/hub/api/users"), hub("/hub/metrics")


def SHARE_PAGE(lab, me):  # noqa: N802 (a constant of the table, like the others)
    return lab.service_url("share")


# (who, what, where, expected status); `where` gives the URL for the person
CASES = [
    # anonymous: nothing but a redirect to sign in
    ("anonymous", "another's server", server("hubolu"), 403),
    ("anonymous", "a shared server", SHARED, 403),
    ("anonymous", "admin API", ADMIN_API, 403),
    ("anonymous", "metrics", METRICS, 403),
    ("anonymous", "share page", SHARE_PAGE, 302),
    # participant (owner of the shared server)
    ("hubana", "own server", OWN, 200),
    ("hubana", "another's server", server("hubolu"), 403),
    ("hubana", "admin API", ADMIN_API, 403),
    ("hubana", "metrics", METRICS, 403),
    ("hubana", "share page", SHARE_PAGE, 200),
    # a second participant: the shared server was not shared with them
    ("hubben", "another's server", server("hubolu"), 403),
    ("hubben", "a server shared with others", SHARED, 403),
    ("hubben", "admin API", ADMIN_API, 403),
    ("hubben", "share page", SHARE_PAGE, 200),
    # organiser
    ("hubolu", "own server", OWN, 200),
    ("hubolu", "another's server", server("hubrae"), 403),
    ("hubolu", "a server shared with others", SHARED, 403),
    ("hubolu", "admin API", ADMIN_API, 403),
    ("hubolu", "metrics", METRICS, 403),
    ("hubolu", "share page", SHARE_PAGE, 200),
    # reviewer: ana's server shared with them by name
    ("hubrae", "own server", OWN, 200),
    ("hubrae", "another's server", server("hubolu"), 403),
    ("hubrae", "shared server", SHARED, 200),
    ("hubrae", "admin API", ADMIN_API, 403),
    ("hubrae", "share page", SHARE_PAGE, 200),
    # official: ana's server shared with their group
    ("hubola", "own server", OWN, 200),
    ("hubola", "another's server", server("hubolu"), 403),
    ("hubola", "shared server (via group)", SHARED, 200),
    ("hubola", "admin API", ADMIN_API, 403),
    ("hubola", "share page", SHARE_PAGE, 200),
    # admin
    ("admin", "another's server", server("hubolu"), 200),
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


@pytest.mark.parametrize("who, what, where, expected", CASES, ids=[f"{c[0]}-{c[1]}" for c in CASES])
def test_access(lab, shared, tokens, who, what, where, expected):
    headers = {} if who == "anonymous" else {"Authorization": f"token {tokens[who]}"}
    url = where(lab, who)
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


# -- one origin per person (issue 11): hosts, cookies and the hub's pages ------------------------------

def _server_cookie(lab, session, name) -> tuple[str, str]:
    """Open ``name``'s lab as a browser would (OAuth through the hub); return the server's login cookie."""
    r = session.get(f"{lab.user_url(name)}/lab", timeout=60)
    assert r.status_code == 200, (r.status_code, r.url)
    host = urlparse(lab.user_url(name)).hostname
    cookies = [c for c in session.cookies if c.domain == host and c.name.startswith("jupyterhub-user-")]
    assert cookies, [(c.name, c.domain) for c in session.cookies]
    return cookies[0].name, cookies[0].value


def test_each_server_and_service_has_an_origin_of_its_own(lab, servers):
    port = urlparse(lab.url).port
    assert urlparse(lab.url).hostname == "localhost"
    assert servers["hubana"] == f"http://hubana.localhost:{port}/user/hubana"  # as the hub's API reports it
    assert urlparse(lab.service_url("share")).netloc == f"share--service.localhost:{port}"
    assert requests.get(f"{lab.hub_api}/", timeout=30).status_code == 200  # contract 1: the API at 127.0.0.1


@pytest.mark.parametrize("cookie_name", ["own name", "renamed for the other server"])
def test_a_persons_server_cookie_does_not_open_another_persons_server(lab, people, servers, cookie_name):
    name, value = _server_cookie(lab, people["hubana"], "hubana")
    own = requests.get(f"{lab.user_url('hubana')}/api/status", headers={"Cookie": f"{name}={value}"}, timeout=30)
    assert own.status_code == 200  # the cookie works where it belongs...
    if cookie_name != "own name":
        name = "jupyterhub-user-hubolu"
    other = requests.get(f"{lab.user_url('hubolu')}/api/status", headers={"Cookie": f"{name}={value}"},
                         allow_redirects=False, timeout=30)
    assert other.status_code in (302, 403), other.status_code  # ...and nowhere else


def test_hub_cookies_are_host_only(lab, people):
    s = requests.Session()
    s.get(f"{lab.url}/hub/login", timeout=30)
    r = s.post(f"{lab.url}/hub/login", allow_redirects=False, timeout=30,
               data={"username": "hubben", "password": people["hubben"].password, "_xsrf": lab.xsrf(s)})
    assert r.status_code == 302
    set_cookies = r.raw.headers.getlist("Set-Cookie")
    assert {c.split("=", 1)[0] for c in set_cookies} >= {"jupyterhub-hub-login", "jupyterhub-session-id"}
    assert not [c for c in set_cookies if "domain=" in c.lower()], set_cookies


def test_the_hub_answers_only_on_its_own_host(lab, people, tokens):
    """An admin tricked into signing in at ada's host would leave the hub's cookies where ada's pages read them."""
    admin = lab.login("admin", lab.admin_password)
    cookies = "; ".join(f"{c.name}={c.value}" for c in admin.cookies)
    ana_host = lab.user_url("hubana").rsplit("/user/", 1)[0]
    r = requests.get(f"{ana_host}/hub/login", allow_redirects=False, timeout=30)
    assert r.status_code == 302 and r.headers["Location"] == f"{lab.url}/hub/login"
    r = requests.get(f"{ana_host}/hub/home", headers={"Cookie": cookies}, allow_redirects=False, timeout=30)
    assert r.status_code == 302 and r.headers["Location"].startswith(f"{lab.url}/hub/home")
    before = len(lab.api("GET", "/users/admin/tokens").json()["api_tokens"])
    r = requests.post(f"{ana_host}/hub/api/users/admin/tokens", json={"note": "from ana's host"}, timeout=30,
                      headers={"Cookie": cookies, "X-XSRFToken": lab.xsrf(admin)}, allow_redirects=False)
    assert r.status_code == 403, r.status_code
    assert len(lab.api("GET", "/users/admin/tokens").json()["api_tokens"]) == before


def test_a_services_old_address_on_the_hub_leads_to_its_own_host(lab):
    r = requests.get(f"{lab.url}/services/share/?x=1", allow_redirects=False, timeout=30)
    assert r.status_code == 302 and r.headers["Location"] == f"{lab.service_url('share')}?x=1"
    r = requests.get(f"{lab.url}/services/no-such-service/", allow_redirects=True, timeout=30)
    assert r.status_code == 404 and urlparse(r.url).hostname == "localhost"
