"""The organiser's journey, in Chromium through the pages only (issue 10): the hub's home page counts the
waiting sign-ups and links to them; the organiser approves one with a role (official) and gives that person
a second role (reviewer) before their first sign-in; the person signs in, lands on the gallery with no
server started, and reaches the review queue."""

import re
import uuid

import pytest
from backstage_testing.browser import fill_sign_in_form
from test_journey_participant_signup import PASSWORD, sign_up_from_the_sign_in_page

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_an_organiser_approves_with_a_role_and_gives_a_role_before_the_first_sign_in(lab, new_context):
    suffix = uuid.uuid4().hex[:4]
    name = f"civil{suffix}"
    organiser = lab.create_user(f"orga{suffix}", groups=("organisers",))

    newcomer = new_context().pages[0]
    sign_up_from_the_sign_in_page(newcomer, lab, name)
    newcomer.get_by_role("status").wait_for()

    page = new_context().pages[0]
    page.goto(f"{lab.url}/hub/login")
    fill_sign_in_form(page, organiser.username, organiser.password)
    page.wait_for_url(f"{lab.url}/hub/home*")
    count = page.locator("#waiting-signups").inner_text()
    assert re.search(r"[1-9]\d* sign-ups? (is|are) waiting for approval", count), count
    page.get_by_role("link", name="Review sign-ups and give roles").click()

    # an organiser may not make organisers: the choice is not offered
    page.get_by_label(f"Role for {name}").wait_for()  # the page has loaded (all_inner_texts does not wait)
    roles = page.get_by_label(f"Role for {name}").locator("option").all_inner_texts()
    assert roles == ["participant", "official", "reviewer", "steward"]
    page.get_by_label(f"Role for {name}").select_option("official")
    page.get_by_role("button", name=f"Approve {name}").click()
    assert f"Approved {name}: official" in page.get_by_role("status").inner_text()

    # a second role before their first sign-in (the hub knows them already)
    page.get_by_label("Username").fill(name)
    page.get_by_label("Role", exact=True).select_option("reviewer")
    page.get_by_role("button", name="Give role").click()
    assert f"Gave the role {name}: reviewer" in page.get_by_role("status").inner_text()

    # they sign in and land on the gallery, with no JupyterLab started, and reach the review queue
    newcomer.goto(f"{lab.url}/hub/login")
    fill_sign_in_form(newcomer, name, PASSWORD)
    newcomer.wait_for_url(f"{lab.service_url('gallery')}*", timeout=120_000)
    newcomer.get_by_role("link", name="Review queue").first.click()
    newcomer.get_by_role("heading", name="Review queue").wait_for()
    model = lab.api("GET", f"/users/{name}").json()
    assert sorted(model["groups"]) == ["officials", "reviewers"] and model["servers"] == {}
