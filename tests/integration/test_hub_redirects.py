"""`next=` on login never leads off-site (the cases of JupyterHub's own test_login_redirect)."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest
import requests

pytestmark = pytest.mark.integration

HOSTILE = ["//evil.example", "https://evil.example", "///evil.example", "http://evil.example/hub/",
           "/\\evil.example", "\\\\evil.example", "https:evil.example", "//evil.example/user/hubana/",
           "javascript:alert(1)"]


def assert_on_site(lab, location):
    parsed = urlparse(location)
    assert parsed.scheme in ("", "http") and parsed.netloc in ("", urlparse(lab.url).netloc), location
    assert not location.startswith(("//", "/\\", "\\")), location


@pytest.mark.parametrize("next_url", HOSTILE)
def test_login_post_with_hostile_next_stays_on_site(lab, people, next_url):
    person = people["hubben"]
    s = requests.Session()
    s.get(f"{lab.url}/hub/login", timeout=30)
    r = s.post(f"{lab.url}/hub/login", params={"next": next_url}, allow_redirects=False, timeout=30,
               data={"username": "hubben", "password": person.password, "_xsrf": lab.xsrf(s)})
    assert r.status_code == 302
    assert_on_site(lab, r.headers["Location"])


@pytest.mark.parametrize("next_url", HOSTILE)
def test_login_page_when_signed_in_with_hostile_next_stays_on_site(lab, people, next_url):
    r = people["hubben"].get(f"{lab.url}/hub/login", params={"next": next_url}, allow_redirects=False, timeout=30)
    assert r.status_code == 302
    assert_on_site(lab, r.headers["Location"])


def test_a_local_next_is_honoured(lab, people):
    r = people["hubben"].get(f"{lab.url}/hub/login", params={"next": "/hub/token"}, allow_redirects=False,
                             timeout=30)
    assert r.headers["Location"] == "/hub/token"
