"""The participant's journey, first half, in Chromium through the pages only (issue 10): a newcomer finds
sign-up on the sign-in page, signs up and is told to wait; an organiser (own browser) approves them; they
sign in and land in their own lab with the welcome notebook open."""

import uuid

import pytest
from backstage_testing.browser import fill_sign_in_form

pytestmark = [pytest.mark.browser, pytest.mark.integration]

PASSWORD = "my-first-lab-password"


def sign_up_from_the_sign_in_page(page, lab, name: str) -> None:
    page.goto(f"{lab.url}/hub/login")
    page.get_by_role("link", name="Sign up for an account").click()
    page.get_by_role("heading", name="Sign up").wait_for()
    page.get_by_label("Username").fill(name)
    page.get_by_label("Your name (optional)").fill("Newcomer Journey")
    page.get_by_label("Password", exact=True).fill(PASSWORD)
    page.get_by_label("Password again").fill(PASSWORD)
    page.get_by_role("button", name="Sign up").click()


def test_a_newcomer_signs_up_is_approved_and_lands_on_the_welcome_notebook(lab, new_context):
    name = f"newbie{uuid.uuid4().hex[:4]}"
    organiser = lab.create_user(f"org{uuid.uuid4().hex[:4]}", groups=("organisers",))

    newcomer = new_context().pages[0]
    sign_up_from_the_sign_in_page(newcomer, lab, name)
    assert "waiting for approval" in newcomer.get_by_role("status").inner_text()
    # signing in before approval says so, rather than "invalid password"
    newcomer.goto(f"{lab.url}/hub/login")
    fill_sign_in_form(newcomer, name, PASSWORD)
    assert "waiting for approval" in newcomer.locator(".login_error").inner_text()

    # the organiser, in a browser of their own, approves from the hub's home page
    page = new_context().pages[0]
    page.goto(f"{lab.url}/hub/login")
    fill_sign_in_form(page, organiser.username, organiser.password)
    page.wait_for_url(f"{lab.url}/hub/home*")
    page.get_by_role("link", name="Review sign-ups and give roles").click()
    page.get_by_label(f"Role for {name}").select_option("participant")
    page.get_by_role("button", name=f"Approve {name}").click()
    assert f"Approved {name}: participant" in page.get_by_role("status").inner_text()

    # the newcomer signs in and lands in their lab, on the welcome notebook
    newcomer.goto(f"{lab.url}/hub/login")
    fill_sign_in_form(newcomer, name, PASSWORD)
    newcomer.wait_for_url(f"{lab.user_url(name)}/lab/tree/notebooks/01-welcome.ipynb*", timeout=180_000)
    tab = newcomer.locator(".lm-TabBar-tab.lm-mod-current", has_text="01-welcome.ipynb")
    tab.wait_for(timeout=120_000)
    newcomer.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=60_000)
    assert "participants" in lab.api("GET", f"/users/{name}").json()["groups"]
