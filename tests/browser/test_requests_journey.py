"""Data requests in Chromium, through the pages only, one browser context per person (issue 13).

A participant signs in from the requests page and asks for data (a barrier on a catalog dataset); a second
participant finds it in the list and presses "Me too"; a steward opens "Requests for you to answer", is
refused when the catalog id is wrong, then answers Released; the participant reads it under "Your updates".
axe-core finds no serious or critical violation on any of these pages.
"""

from __future__ import annotations

import uuid

import pytest
from backstage_testing.browser import axe_violations, fill_sign_in_form

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def signed_in_page(new_context, lab, start: str, link: str, person: dict):
    """A fresh context on *start*; follow *link* to the hub's sign-in form; sign in by its labels."""
    page = new_context().pages[0]
    page.goto(start)
    page.get_by_role("link", name=link).click()
    fill_sign_in_form(page, person["name"], person["password"])
    page.wait_for_url(lambda url: url.startswith(lab.service_url("commons")))
    return page


def no_violations(page, where: str) -> None:
    found = axe_violations(page)
    assert not found, f"axe-core on {where}: {found}"


def test_ask_support_answer_and_read_the_update_through_the_pages(lab, new_context):
    suffix = uuid.uuid4().hex[:4]
    people = {}
    for role, group in (("ana", "participants"), ("ben", "participants"), ("sol", "stewards")):
        name = f"rq{role}{suffix}"
        session = lab.create_user(name, groups=(group,))
        people[role] = {"name": name, "password": session.password}
    title = f"Region lookup link is dead {suffix}"
    requests_page = lab.service_url("commons") + "requests"

    # anonymous: the list reads without signing in
    anonymous = new_context().pages[0]
    anonymous.goto(requests_page)
    anonymous.get_by_role("heading", name="Data requests", level=1).wait_for()
    no_violations(anonymous, "the requests list (anonymous)")

    # ana signs in from the list and asks for data; a missing barrier is refused and her words are kept
    ana = signed_in_page(new_context, lab, requests_page, "Sign in to ask for data", people["ana"])
    ana.get_by_role("heading", name="Ask for data").wait_for()
    no_violations(ana, "Ask for data")
    ana.get_by_label("A problem using published data").check()
    ana.get_by_label("Title").fill(title)
    ana.get_by_label("What you need and why").fill("The file moved and the <b>link</b> answers 404.")
    ana.get_by_label("Which dataset").fill("lad21-region-lookup")
    ana.get_by_role("button", name="Send request").click()
    ana.get_by_text("'barrier' must be one of").wait_for()
    assert ana.get_by_label("Title").input_value() == title
    no_violations(ana, "Ask for data, with an error")
    ana.get_by_label("What stops you").select_option(label="Broken link or changed file")
    ana.get_by_role("button", name="Send request").click()
    ana.get_by_role("heading", name="Request sent").wait_for()
    ana.get_by_role("heading", name=title, level=1).wait_for()
    assert "The file moved and the <b>link</b> answers 404." in ana.content().replace("&lt;", "<").replace("&gt;", ">")
    no_violations(ana, "a request")
    ana.get_by_text("You asked for this data: you hear about every answer.").wait_for()
    assert ana.get_by_role("button", name="Me too: I need this data").count() == 0  # her own request counts her

    # ben finds it in the list and presses "Me too"
    ben = signed_in_page(new_context, lab, requests_page, "Sign in to ask for data", people["ben"])
    ben.get_by_role("navigation", name="Menu").get_by_role("link", name="Data requests").click()
    ben.get_by_role("link", name=title).click()
    ben.get_by_role("button", name="Me too: I need this data").click()
    ben.get_by_text("You support this request.").wait_for()
    assert ben.locator("#supporters").inner_text() == "1"

    # sol, a steward, answers from "Requests for you to answer"
    sol = signed_in_page(new_context, lab, requests_page, "Sign in to ask for data", people["sol"])
    sol.get_by_role("navigation", name="Menu").get_by_role("link", name="Data requests").click()
    sol.get_by_role("link", name="Requests for you to answer").click()
    sol.get_by_role("heading", name="Requests for you to answer").wait_for()
    no_violations(sol, "requests to answer")
    sol.get_by_role("link", name=title).click()
    sol.get_by_label("New status").select_option(label="Released")
    sol.get_by_label("Public answer").fill("Republished at a stable address.")
    sol.get_by_label("Catalog id of the data").fill("lad21-region-lookp")
    sol.get_by_role("button", name="Publish answer").click()
    sol.get_by_text("must name a govdata catalog id").wait_for()
    assert sol.locator("#request-status").inner_text() == "Open"
    no_violations(sol, "a request, with a refused answer")
    sol.get_by_label("Catalog id of the data").fill("lad21-region-lookup")
    sol.get_by_role("button", name="Publish answer").click()
    sol.get_by_text("Your answer is published").wait_for()
    assert sol.locator("#request-status").inner_text() == "Released"
    assert "Republished at a stable address." in sol.locator("#timeline").inner_text()
    sol.goto(requests_page)
    sol.get_by_role("link", name="Figures").click()
    sol.get_by_role("heading", name="Data requests in figures").wait_for()
    no_violations(sol, "figures")

    # ana, back on the list, reads the answer under "Your updates"
    ana.goto(requests_page)
    ana.get_by_role("navigation", name="Menu").get_by_role("link", name="Your updates (1 new)").click()
    ana.get_by_role("heading", name="Your updates", level=1).wait_for()
    assert "Released" in ana.locator("#updates").inner_text()
    assert "lad21-region-lookup" in ana.locator("#updates").inner_text()
    no_violations(ana, "Your updates")
