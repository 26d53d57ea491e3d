"""The sharing journey, in Chromium through the pages only (issue 10): the owner shares their server with a
person from "Share my server" (found as "Share" in the site's navigation); that person sees it under "Shared with me"
on their home page and opens it in one click (no OAuth consent page on the way)."""

import uuid

import pytest
from backstage_testing.browser import open_hub_home_signed_in

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def test_a_shared_server_is_one_click_away_on_the_home_page(lab, new_context):
    suffix = uuid.uuid4().hex[:4]
    owner = lab.create_user(f"owner{suffix}", groups=("participants",))
    friend = lab.create_user(f"friend{suffix}", groups=("participants",))
    lab.spawn(owner)  # set-up: the owner's server is running

    page = new_context().pages[0]
    open_hub_home_signed_in(page, lab, owner.username, owner.password)
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Share").click()
    page.get_by_label("Their username, or the group's name").fill(friend.username)
    page.get_by_role("button", name="Share my server").click()
    page.get_by_role("button", name=f"Revoke {friend.username}").wait_for()

    visitor = new_context().pages[0]
    open_hub_home_signed_in(visitor, lab, friend.username, friend.password)
    shared = visitor.get_by_role("heading", name="Shared with me")
    shared.wait_for()
    visitor.get_by_role("link", name=f"Open {owner.username}'s server").click()
    # straight into the owner's JupyterLab: no consent page on the way
    visitor.wait_for_url(f"{lab.user_url(owner.username)}/lab/**", timeout=120_000, wait_until="commit")
    visitor.locator("#jp-main-dock-panel").wait_for(timeout=120_000)
    assert visitor.url.startswith(f"{lab.user_url(owner.username)}/lab")
