"""The "Share my server" page: a participant shares with a person and a group, then revokes."""

from __future__ import annotations

import re
import time

import pytest
import requests
from backstage.hubconfig import REVOKE_WITHIN

pytestmark = pytest.mark.integration


def share_page(lab, session) -> tuple[requests.Response, str]:
    r = session.get(lab.service_url("share"), timeout=30)
    assert r.status_code == 200, r.status_code
    return r, re.search(r'name="_xsrf" value="([^"]+)"', r.text).group(1)


def act(lab, session, action, kind, name, xsrf=True):
    _, token = share_page(lab, session)
    data = {"action": action, "kind": kind, "name": name}
    if xsrf:
        data["_xsrf"] = token
    return session.post(lab.service_url("share"), data=data, timeout=30, allow_redirects=False)


def status_for(lab, token, owner="hubana"):
    return requests.get(f"{lab.user_url(owner)}/api/status", headers={"Authorization": f"token {token}"},
                        timeout=30).status_code


def wait_for_status(lab, token, expected, within):
    deadline = time.monotonic() + within
    while (code := status_for(lab, token)) != expected and time.monotonic() < deadline:
        time.sleep(1)
    return code


def test_share_with_a_person_then_revoke(lab, people, servers, tokens):
    ana = people["hubana"]
    page, _ = share_page(lab, ana)
    assert "Nobody: your server is yours alone." in page.text
    assert status_for(lab, tokens["hubben"]) == 403

    r = act(lab, ana, "add", "user", "hubben")
    assert r.status_code == 200 and "now shared with user hubben" in r.text
    assert "Revoke hubben" in share_page(lab, ana)[0].text
    assert wait_for_status(lab, tokens["hubben"], 200, REVOKE_WITHIN + 5) == 200
    # sharing grants that server only
    assert status_for(lab, tokens["hubben"], owner="hubolu") == 403

    r = act(lab, ana, "revoke", "user", "hubben")
    assert r.status_code == 200 and "no longer shared with user hubben" in r.text
    assert "Revoke hubben" not in share_page(lab, ana)[0].text
    assert wait_for_status(lab, tokens["hubben"], 403, REVOKE_WITHIN + 5) == 403


def test_share_with_a_group_then_revoke(lab, people, servers, tokens):
    ana = people["hubana"]
    r = act(lab, ana, "add", "group", "officials")
    assert r.status_code == 200 and "now shared with group officials" in r.text
    assert wait_for_status(lab, tokens["hubola"], 200, REVOKE_WITHIN + 5) == 200
    assert status_for(lab, tokens["hubrae"]) == 403  # a reviewer is not an official
    r = act(lab, ana, "revoke", "group", "officials")
    assert r.status_code == 200
    assert lab.api("GET", "/shares/hubana/").json()["items"] == []


def test_post_without_xsrf_shares_nothing(lab, people, servers):
    r = act(lab, people["hubana"], "add", "user", "hubben", xsrf=False)
    assert r.status_code in (302, 403)
    assert lab.api("GET", "/shares/hubana/").json()["items"] == []


@pytest.mark.parametrize("kind, name, status, message", [
    ("user", "nobody-of-that-name", 400, "No such user"),
    ("group", "no-such-group", 400, "No such group"),
    ("user", "hubana", 400, "That is you"),
    ("user", "", 400, "type its name"),
    ("user", "<script>alert(1)</script>", 400, "&lt;script&gt;"),
    ("robot", "hubben", 400, "Choose a person or a group"),
])
def test_bad_share_requests_get_a_clear_message(lab, people, servers, kind, name, status, message):
    r = act(lab, people["hubana"], "add", kind, name)
    assert r.status_code == status and message in r.text
    assert "<script>alert(1)</script>" not in r.text
    assert lab.api("GET", "/shares/hubana/").json()["items"] == []


def test_share_page_needs_sign_in(lab):
    r = requests.get(lab.service_url("share"), allow_redirects=False, timeout=30)
    assert r.status_code == 302 and "/hub/api/oauth2/authorize" in r.headers["Location"]


def test_share_page_links_back_to_the_hub_on_its_own_host(lab, people):
    page, _ = share_page(lab, people["hubana"])
    assert f'href="{lab.url}/hub/home"' in page.text  # the page is on share--service.localhost
