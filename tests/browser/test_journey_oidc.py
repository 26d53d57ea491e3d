"""Sign in with GOV.UK One Login, in Chromium through the pages only, against the real hub and a real OpenID
provider on loopback (npm ``oidc-provider`` configured like One Login), on a lab where new people wait for
approval: a newcomer signs in at the provider and is told they wait; the admin signs in with the lab's own
password (break-glass), sees the waiting count on the home page and approves them as a participant; the
newcomer signs in again and lands in their own lab; logging out ends the lab's session and the provider's."""

import shutil
import tempfile
import uuid
from pathlib import Path

import pytest
from backstage_testing.browser import fill_sign_in_form
from backstage_testing.oidc import oidc_lab

pytestmark = [pytest.mark.browser, pytest.mark.integration]

# a fresh name each run: people's servers run as Unix accounts (bk-<name>) that outlive a lab run as root
SUFFIX = uuid.uuid4().hex[:6]
EMAIL = f"Ada.Lovelace.{SUFFIX}@example.org"
NAME = f"ada-lovelace-{SUFFIX}"


@pytest.fixture(scope="module")
def approval_lab():
    state = Path(tempfile.mkdtemp(prefix="backstage-oidc-journey-"))
    state.chmod(0o711)  # run as root, each person's server (its own Unix user) reaches its home below
    try:
        with oidc_lab(state / "state", new_people="approval") as (lab, provider):
            yield lab, provider
    finally:
        shutil.rmtree(state, ignore_errors=True)


def sign_in_with_one_login(page, lab, provider, email: str | None = EMAIL) -> None:
    """From the lab's sign-in page through the provider's (which asks for the e-mail unless signed in there)."""
    page.goto(f"{lab.url}/hub/login")
    page.get_by_role("button", name="Sign in with GOV.UK One Login").click()
    if email is not None:
        page.wait_for_url(f"{provider.issuer}/interaction/*")
        page.get_by_label("Email address").fill(email)
        page.get_by_role("button", name="Continue").click()


def test_newcomer_waits_is_approved_lands_in_their_lab_and_signs_out_everywhere(approval_lab, new_context):
    lab, provider = approval_lab
    newcomer = new_context().pages[0]
    sign_in_with_one_login(newcomer, lab, provider)
    newcomer.wait_for_url(f"{lab.url}/hub/oauth_callback*")
    assert "waiting for approval by an organiser" in newcomer.locator("body").inner_text()
    assert lab.api("GET", f"/users/{NAME}").status_code == 404  # nobody made before approval

    # the admin: the provider is not their way in; the lab's own password is, from the sign-in page
    admin = new_context().pages[0]
    admin.goto(f"{lab.url}/hub/login")
    admin.get_by_role("link", name="Sign in with the lab's password").click()
    fill_sign_in_form(admin, "admin", lab.admin_password)
    admin.goto(f"{lab.url}/hub/home")
    assert "1 sign-up is waiting for approval" in admin.get_by_role("status").inner_text()
    admin.get_by_role("link", name="Review sign-ups and give roles").click()
    assert EMAIL in admin.locator("table").inner_text()
    admin.get_by_label(f"Role for {NAME}").select_option("participant")
    admin.get_by_role("button", name=f"Approve {NAME}").click()
    assert f"Approved {NAME}: participant" in admin.get_by_role("status").inner_text()

    # signed in at the provider already, so straight back, and into their own lab
    sign_in_with_one_login(newcomer, lab, provider, email=None)
    newcomer.wait_for_url(f"{lab.user_url(NAME)}/lab/**", timeout=180_000)
    newcomer.locator(".jp-Notebook .jp-Cell").first.wait_for(timeout=120_000)
    assert lab.api("GET", f"/users/{NAME}").json()["groups"] == ["participants"]

    # logout: the lab's session ends, then the provider's, and back to the lab's sign-in page
    newcomer.goto(f"{lab.url}/hub/home")
    newcomer.get_by_role("navigation", name="Menu").get_by_role("link", name="Sign out").click()
    newcomer.wait_for_url(f"{lab.url}/hub/login*")
    newcomer.get_by_role("button", name="Sign in with GOV.UK One Login").wait_for()
    newcomer.goto(f"{lab.url}/hub/home")
    newcomer.wait_for_url(f"{lab.url}/hub/login*")
    # the provider forgot them too: it asks who they are again
    sign_in_with_one_login(newcomer, lab, provider, email=None)
    newcomer.get_by_label("Email address").wait_for()
