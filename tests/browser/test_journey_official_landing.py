"""The official's journey, first step, in Chromium (issue 10): an official signs in on the hub's sign-in
page and lands on the gallery (on its own origin); no JupyterLab is started for them."""

import uuid

import pytest
from backstage_testing.browser import fill_sign_in_form

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_an_official_signs_in_and_lands_on_the_gallery_with_no_server(lab, new_context):
    official = lab.create_user(f"offi{uuid.uuid4().hex[:4]}", groups=("officials",))
    page = new_context().pages[0]
    page.goto(f"{lab.url}/hub/login")
    fill_sign_in_form(page, official.username, official.password)
    page.wait_for_url(f"{lab.service_url('gallery')}*", timeout=120_000)
    page.get_by_role("heading", level=1).first.wait_for()
    assert "Sign in" not in page.title()
    assert lab.api("GET", f"/users/{official.username}").json()["servers"] == {}
    # an official reads dashboards: the gallery's menu offers no submitting, which needs a lab of one's own
    menu = page.get_by_role("navigation", name="Menu")
    menu.get_by_role("link", name="Gallery").wait_for()
    assert menu.get_by_role("link", name="Submit a notebook").count() == 0
    assert menu.get_by_role("link", name="My submissions").count() == 0
