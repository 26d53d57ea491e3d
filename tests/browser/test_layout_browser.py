"""One layout on every page (issue 15 item 3), in Chromium: the hub's pages (sign-in, sign-up, home, tokens,
sign-ups), the gallery, the commons and "Share my server" show the same header, the site's navigation with
only what the person may use (their page's entry marked), the phase banner with its feedback link, and the
footer's links to the pages a public service must have; none scrolls sideways at 320 px."""

from __future__ import annotations

import re
import uuid

import pytest
from backstage_testing.browser import open_hub_home_signed_in

pytestmark = [pytest.mark.browser, pytest.mark.integration]

#: the entries of the site's navigation (a section's own pages, e.g. the commons' Challenges, come between)
SITE_ENTRIES = ("Commons", "Gallery", "My lab", "Share", "Sign in", "Sign out")
FOOTER = ["Cookies", "Privacy", "Accessibility", "House rules"]


def layout_of(page) -> dict:
    """What the shared layout shows on the open page, read as a person reads it (roles and names)."""
    menu = page.get_by_role("navigation", name="Menu")
    links = menu.get_by_role("link")
    names = [name.strip() for name in links.all_inner_texts()]
    current = [names[i] for i in range(links.count()) if links.nth(i).get_attribute("aria-current")]
    footer = page.get_by_role("contentinfo")
    support = footer.get_by_role("link").filter(has_text=re.compile("^(" + "|".join(FOOTER) + ")$"))
    phase = page.locator(".govuk-phase-banner")
    return {
        "home": page.get_by_role("banner").get_by_role("link").first.inner_text().strip(),
        "entries": [n for n in names if n in SITE_ENTRIES],
        "current": current,
        "hrefs": {n: links.nth(i).get_attribute("href") for i, n in enumerate(names)},
        "phase": phase.locator(".govuk-tag").inner_text().strip(),
        "phase_text": " ".join(phase.locator(".govuk-phase-banner__text").inner_text().split()),
        "feedback": phase.get_by_role("link", name="feedback").get_attribute("href"),
        "footer": dict(zip(support.all_inner_texts(), [support.nth(i).get_attribute("href")
                                                        for i in range(support.count())], strict=True)),
        "width": page.evaluate("document.documentElement.scrollWidth"),
    }


def check(page, lab, entries: list[str], current: str | None, where: str) -> dict:
    """The page's layout is the lab's one layout, with ``entries`` in its navigation and ``current`` marked."""
    page.wait_for_load_state()
    seen = layout_of(page)
    assert seen["home"] == "Government Backstage", where
    assert seen["entries"] == entries, f"{where}: navigation {seen['entries']}, expected {entries}"
    assert seen["current"] == ([current] if current else []), f"{where}: marked {seen['current']}"
    assert seen["phase"] == "Beta", where
    assert seen["phase_text"] == "This is a new service – your feedback will help us to improve it.", where
    assert seen["feedback"] == lab.service_url("commons") + "requests/new?kind=barrier", where
    assert seen["footer"] == {name: f"{lab.url}/hub/{path}" for name, path in
                              zip(FOOTER, ("cookies", "privacy", "accessibility", "house-rules"), strict=True)}, where
    return seen


def at_320px(page, where: str) -> None:
    page.set_viewport_size({"width": 320, "height": 800})
    try:
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 320, f"{where} scrolls sideways at 320 px ({width} px wide)"
    finally:
        page.set_viewport_size({"width": 1280, "height": 900})


def visit(page, url: str, lab, entries, current, where: str) -> dict:
    page.goto(url)
    seen = check(page, lab, entries, current, where)
    at_320px(page, where)
    return seen


def test_an_anonymous_visitor_sees_the_one_layout_on_the_commons_and_the_sign_in_pages(lab, new_context):
    page = new_context().pages[0]
    seen = visit(page, lab.service_url("commons"), lab, ["Commons", "Gallery", "Sign in"], "Commons", "the commons")
    assert "/services/commons/sign-in?next=" in seen["hrefs"]["Sign in"]  # back to the page after signing in
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Sign in").click()
    page.wait_for_url("**/hub/login**")
    seen = check(page, lab, ["Commons", "Gallery", "Sign in"], "Sign in", "the hub's sign-in page")
    at_320px(page, "the hub's sign-in page")
    page.get_by_role("link", name="Sign up for an account").click()
    page.wait_for_url("**/hub/signup")
    check(page, lab, ["Commons", "Gallery", "Sign in"], "Sign in", "the sign-up page")
    at_320px(page, "the sign-up page")
    # the footer's links lead somewhere (the pages themselves are tests/browser/test_public_pages.py's)
    assert seen["footer"]["Cookies"] == f"{lab.url}/hub/cookies"


@pytest.mark.parametrize("group", ["participants", "officials"])
def test_a_signed_in_person_sees_the_one_layout_on_every_kind_of_page(lab, new_context, group):
    person = lab.create_user(f"lay{group[:4]}{uuid.uuid4().hex[:4]}", groups=(group,))
    everyone = ["Commons", "Gallery", "My lab", "Share", "Sign out"]
    page = new_context().pages[0]
    open_hub_home_signed_in(page, lab, person.username, person.password)
    seen = check(page, lab, everyone, "My lab", "the hub's home page")
    at_320px(page, "the hub's home page")
    assert "Sign-ups" not in seen["hrefs"], "only approvers see the sign-ups page"
    assert seen["hrefs"]["My lab"] == f"{lab.url}/hub/home"

    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Tokens").click()
    page.wait_for_url(f"{lab.url}/hub/token")
    check(page, lab, everyone, "My lab", "the token page")
    at_320px(page, "the token page")
    # JupyterHub's own script still runs in the layout: a token is made, listed, and revoked
    page.get_by_label("Note").fill("layout check")
    page.get_by_role("button", name="Request new API token").click()
    page.locator("#token-result").wait_for()
    assert len(page.locator("#token-result").inner_text().strip()) >= 32
    page.reload()
    page.get_by_role("button", name="Revoke layout check").click()
    page.get_by_role("button", name="Revoke layout check").wait_for(state="detached")
    page.reload()
    page.get_by_role("heading", name="Tokens", level=1).wait_for()
    assert not page.get_by_role("button", name="Revoke layout check").count(), "the token was not revoked"

    # each service knows the person at once (Gallery and Commons lead through their sign-in: no form, no click)
    for entry, service in (("Gallery", "gallery"), ("Share", "share"), ("Commons", "commons")):
        page.get_by_role("navigation", name="Menu").get_by_role("link", name=entry).click()
        page.wait_for_url(lab.service_url(service))
        check(page, lab, everyone, entry, f"the {service} page")
        at_320px(page, f"the {service} page")

    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Sign out").click()
    page.wait_for_url("**/hub/login**")
    check(page, lab, ["Commons", "Gallery", "Sign in"], "Sign in", "the sign-in page after signing out")


def test_an_organiser_reaches_the_sign_ups_from_the_navigation_in_the_same_layout(lab, new_context):
    organiser = lab.create_user(f"layorg{uuid.uuid4().hex[:4]}", groups=("organisers",))
    page = new_context().pages[0]
    open_hub_home_signed_in(page, lab, organiser.username, organiser.password)
    everyone = ["Commons", "Gallery", "My lab", "Share", "Sign out"]
    seen = check(page, lab, everyone, "My lab", "the organiser's home page")
    assert seen["hrefs"]["Sign-ups"] == f"{lab.url}/hub/signups"
    page.get_by_role("navigation", name="Menu").get_by_role("link", name="Sign-ups").click()
    page.wait_for_url(f"{lab.url}/hub/signups")
    check(page, lab, everyone, "My lab", "the sign-ups page")
    at_320px(page, "the sign-ups page")
    page.goto(f"{lab.url}/hub/no-such-page")
    check(page, lab, everyone, None, "the hub's 404 page")
    assert page.get_by_role("heading", level=1).inner_text() == "Page not found"
