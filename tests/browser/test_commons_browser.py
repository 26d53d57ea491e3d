"""In Chromium, using only the pages: the commons' front door, an official's challenge, a participant's idea
and vote, the official's responses, the feed; axe-core on every commons page; everything with JavaScript off."""

from __future__ import annotations

import re
import uuid
from datetime import date, timedelta

import pytest
import requests
from backstage_testing.browser import axe_violations

pytestmark = [pytest.mark.browser, pytest.mark.integration]

CLOSES = (date.today() + timedelta(days=45)).isoformat()


@pytest.fixture(scope="module")
def people(lab):
    suffix = uuid.uuid4().hex[:4]
    out = {}
    for role, group in {"official": "officials", "participant": "participants", "other": "participants",
                        "organiser": "organisers"}.items():
        name = f"b{role[:3]}{suffix}"
        lab.create_user(name, groups=(group,))
        out[role] = name
    return out


def no_serious_violations(page):
    found = axe_violations(page)
    assert not found, f"{page.url}: {found}"


def sign_in_from_the_commons(page, lab, name):
    """From the front door: 'Sign in' in the menu, the hub's sign-in form, and back to the commons."""
    page.goto(lab.url + "/")
    page.get_by_role("link", name="Sign in", exact=True).first.click()
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(lab.passwords[name])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: "/services/commons/" in url and "oauth" not in url)
    assert page.get_by_text(f"Signed in as {name}").is_visible()


def test_challenge_idea_vote_and_official_responses_through_the_pages(lab, people, new_context):
    official = new_context().new_page()
    sign_in_from_the_commons(official, lab, people["official"])
    no_serious_violations(official)
    official.get_by_role("link", name="Post a challenge").first.click()
    no_serious_violations(official)
    official.get_by_label("Title").fill("Safer routes to school")
    official.get_by_label("The problem, in plain words").fill("Which streets near schools are **most deprived**?")
    official.get_by_label("Datasets that may help").fill("imd-2019-lad")
    official.get_by_label("Closes on").fill(CLOSES)
    official.get_by_role("button", name="Post the challenge").click()
    # an unknown id is refused by name with its near match, and nothing typed is lost
    assert official.get_by_text("There is a problem").is_visible()
    assert official.get_by_text(re.compile("'imd-2019-lad'.*imd-2019-lad21")).is_visible()
    assert official.get_by_label("Title").input_value() == "Safer routes to school"
    no_serious_violations(official)
    official.get_by_label("Datasets that may help").fill("imd-2019-lad21")
    official.get_by_role("button", name="Post the challenge").click()
    official.get_by_role("heading", name="Safer routes to school").wait_for()
    challenge_url = official.url
    assert official.get_by_text("Open Government Licence v3.0").is_visible()
    no_serious_violations(official)

    anonymous = new_context().new_page()
    anonymous.goto(lab.url + "/")
    assert anonymous.get_by_role("heading", name="Show us a better way").is_visible()
    assert anonymous.get_by_role("link", name="sign up").is_visible()
    no_serious_violations(anonymous)
    anonymous.get_by_role("link", name="Safer routes to school").click()
    assert anonymous.locator("strong", has_text="most deprived").is_visible()
    assert anonymous.get_by_text("to propose an idea and vote").is_visible()
    no_serious_violations(anonymous)
    anonymous.get_by_role("link", name="House rules").click()  # the hub's page, in the same layout
    no_serious_violations(anonymous)
    anonymous.get_by_role("navigation", name="Menu").get_by_role("link", name="Commons").click()
    anonymous.get_by_role("link", name="Challenges", exact=True).click()
    assert anonymous.get_by_role("link", name="Safer routes to school").is_visible()
    no_serious_violations(anonymous)

    participant = new_context().new_page()
    sign_in_from_the_commons(participant, lab, people["participant"])
    participant.get_by_role("link", name="Safer routes to school").click()
    for title in ("Walking-bus map", "Crossing patrol finder"):
        participant.get_by_label("Your idea in a few words").fill(title)
        participant.get_by_label("What it would do, and for whom").fill(f"{title} for parents")
        participant.get_by_role("button", name="Propose the idea").click()
        participant.get_by_role("heading", name=title).wait_for()
        if title == "Walking-bus map":
            good_url = participant.url
            participant.get_by_role("button", name="Vote for this idea").click()
            assert participant.locator("#votes").inner_text() == "1"
            assert participant.get_by_text("You have 9 votes left").is_visible()
            no_serious_violations(participant)
            participant.goto(challenge_url)
    other_url = participant.url

    official.goto(other_url)
    official.get_by_label("New status").select_option("declined")
    official.get_by_role("button", name="Publish the response").click()
    assert official.get_by_text("give a reason").is_visible()  # declined needs a reason
    official.get_by_label("New status").select_option("declined")
    official.get_by_label("Reason (shown publicly").fill("Schools run patrols already")
    official.get_by_role("button", name="Publish the response").click()
    assert official.locator("#official-response").get_by_text("Schools run patrols already").is_visible()
    official.goto(good_url)
    official.get_by_label("New status").select_option("adopted")
    official.get_by_label("Reason (shown publicly").fill("We will fund a pilot")
    official.get_by_role("button", name="Publish the response").click()
    response = official.locator("#official-response")
    assert response.get_by_text(f"adopted by {people['official']}").is_visible()
    no_serious_violations(official)

    anonymous.goto(challenge_url)
    anonymous.get_by_role("link", name="Feed of this challenge's ideas and responses (Atom)").wait_for()
    feed_url = anonymous.get_by_role("link", name="Feed of this challenge's ideas and responses (Atom)").get_attribute("href")
    feed = requests.get(anonymous.url.split("/services/")[0] + feed_url, timeout=30).text
    assert "Declined: Crossing patrol finder" in feed and "Adopted: Walking-bus map" in feed


def test_the_pages_work_with_javascript_off_and_moderation_pages_pass_axe(lab, people, new_context):
    r = requests.post(lab.service_url("commons") + "api/challenges", timeout=30,
                      headers={"Authorization": f"token {lab.token_for(people['official'])}"},
                      json={"title": "Quieter streets", "summary": "Noise", "datasets": [], "closes": CLOSES})
    assert r.status_code == 201, r.text
    page = new_context(java_script_enabled=False).new_page()
    sign_in_from_the_commons(page, lab, people["other"])
    page.get_by_role("link", name="Quieter streets").first.click()
    page.get_by_label("Your idea in a few words").fill("Noise map <script>alert(1)</script>")
    page.get_by_label("What it would do, and for whom").fill("[click](javascript:alert(1))")
    page.get_by_role("button", name="Propose the idea").click()
    page.get_by_role("heading", name="Noise map <script>alert(1)</script>").wait_for()
    assert page.locator("a[href^='javascript']").count() == 0
    page.get_by_role("button", name="Vote for this idea").click()
    assert page.locator("#votes").inner_text() == "1"
    page.get_by_role("button", name="Withdraw my vote").click()
    assert page.locator("#votes").inner_text() == "0"
    page.get_by_text("Report this idea").click()
    page.get_by_label("What breaks the house rules?").fill("Looks like spam")
    page.get_by_role("button", name="Report it to the organisers").click()
    idea_url = page.url.split("?")[0]

    organiser = new_context().new_page()
    sign_in_from_the_commons(organiser, lab, people["organiser"])
    organiser.get_by_role("link", name="Reports").click()
    assert organiser.get_by_text("Looks like spam").is_visible()
    no_serious_violations(organiser)
    organiser.goto(idea_url)
    organiser.get_by_label("Reason for hiding").fill("Not about the challenge")
    organiser.get_by_role("button", name="Hide this idea").click()
    no_serious_violations(organiser)
    page.goto(idea_url)
    assert page.get_by_text("Hidden by the moderators: Not about the challenge").is_visible()
    assert page.get_by_role("button", name="Vote for this idea").count() == 0
    page.goto(lab.service_url("commons") + "no-such-page")
    assert page.get_by_role("heading", name="Page not found").is_visible()
    organiser.goto(lab.service_url("commons") + "no-such-page")  # axe needs JavaScript: checked with it on
    no_serious_violations(organiser)
    anonymous = new_context(java_script_enabled=False).new_page()  # the front door with JavaScript off
    anonymous.goto(lab.url + "/")
    assert anonymous.get_by_role("heading", name="Show us a better way").is_visible()
    anonymous.get_by_role("link", name="Quieter streets").first.click()
    assert anonymous.get_by_role("heading", name="Quieter streets").is_visible()
