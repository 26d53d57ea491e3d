"""Where people land after signing in (no `next`): officials on the gallery with no server started,
organisers on the hub's home page, participants in their lab (the welcome notebook)."""

from __future__ import annotations

import pytest
import requests

pytestmark = pytest.mark.integration


def landing(lab, name, password) -> str:
    s = requests.Session()
    s.get(f"{lab.url}/hub/login", timeout=30)
    r = s.post(f"{lab.url}/hub/login", data={"username": name, "password": password, "_xsrf": lab.xsrf(s)},
               allow_redirects=False, timeout=60)
    assert r.status_code == 302, r.text[:300]
    return r.headers["Location"]


def test_officials_land_on_the_gallery_and_start_no_server(lab):
    services = lab.api("GET", "/services").json()
    official = lab.create_user("hubland1", groups=("officials",))
    where = landing(lab, "hubland1", official.password)
    if "gallery" in services:
        assert where == lab.service_url("gallery") + "sign-in" or where == "/services/gallery/sign-in"
    else:
        assert where.endswith("/hub/spawn")  # no gallery in this lab: the hub's default
    assert lab.api("GET", "/users/hubland1").json()["servers"] == {}


def test_organisers_land_on_the_hub_home_and_participants_on_their_lab(lab):
    organiser = lab.create_user("hubland2", groups=("organisers",))
    assert landing(lab, "hubland2", organiser.password) == "/hub/home"
    participant = lab.create_user("hubland3", groups=("participants",))
    assert landing(lab, "hubland3", participant.password) == "/hub/spawn"
    # an official who is also a participant is a participant first
    both = lab.create_user("hubland4", groups=("officials", "participants"))
    assert landing(lab, "hubland4", both.password) == "/hub/spawn"
    # an explicit next= is kept
    r = lab.login("hubland2", organiser.password, next_url="/hub/token")
    assert r.username == "hubland2"
