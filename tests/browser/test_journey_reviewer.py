"""The reviewer's journey, in Chromium, through the pages only (issue 10).

A reviewer opens the queue, reads the checks and the preview of what officials will see (with a warning for a
notebook that still holds a cell submitting to the gallery), sends that one back with a reason, approves the
clean one, unpublishes it and publishes it again; the participant reads the reason under My submissions.
"""

import re

import pytest
from backstage_testing.journeys import (
    TUTORIAL,
    dashboard_notebook,
    nav,
    open_gallery_signed_in,
    people,
    row_of,
    submit_by_api,
    wait_checked,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration]

SUBMIT_CELL = "from backstage.gallery import client  # submits this notebook (should be tagged author-only)"
REASON = "Tag the cell that submits to the gallery author-only, then submit again."


@pytest.fixture(scope="module")
def queue(lab):
    """A participant's two submissions, checked: a clean dashboard and one that still holds a submit cell."""
    team = people(lab, author="participants", reviewer="reviewers")
    token = team["author"]["token"]
    suffix = team["author"]["name"][-4:]
    titles = {"clean": f"Squares {suffix}", "leaky": f"Leaky squares {suffix}"}
    ids = {"clean": submit_by_api(lab, token, titles["clean"], dashboard_notebook()),
           "leaky": submit_by_api(lab, token, titles["leaky"], dashboard_notebook(SUBMIT_CELL))}
    for submission_id in ids.values():
        item = wait_checked(lab, token, submission_id)
        assert item["status"] == "awaiting-review", item["checks"]
    return {"people": team, "titles": titles, "ids": ids}


def _open_from_queue(page, title):
    nav(page, "Review queue")
    page.get_by_role("heading", name="Review queue").wait_for()
    row_of(page, title).get_by_role("link", name=title).click()
    page.get_by_role("heading", name=title, level=1).wait_for()


def test_a_reviewer_sends_back_a_leaky_notebook_and_approves_a_clean_one(lab, queue, new_context):
    reviewer, author = queue["people"]["reviewer"], queue["people"]["author"]
    page = new_context().pages[0]
    open_gallery_signed_in(page, lab, reviewer)

    # the leaky one: the checks passed, but the review page warns about the submit cell, with the fix
    _open_from_queue(page, queue["titles"]["leaky"])
    checks = page.get_by_role("term").filter(has_text="Runs top to bottom").locator("xpath=following-sibling::dd")
    assert checks.inner_text().startswith("Yes")
    warning = page.locator("#review-warnings")
    assert "submits to the gallery" in warning.inner_text() and "author-only" in warning.inner_text()
    preview = page.frame_locator("iframe[title^='Static preview']")
    preview.get_by_role("heading", name="Squares").wait_for()  # the dashboard's own text, as officials see it
    assert preview.get_by_text(TUTORIAL).count() == 0  # author-only cells are not what officials see
    assert preview.get_by_text("from backstage.gallery import client", exact=False).count() == 0  # nor code
    page.get_by_label("Reason for sending it back").fill(REASON)
    page.get_by_role("button", name="Send back").click()
    page.get_by_text("rejected", exact=True).first.wait_for()
    assert REASON in page.locator(".govuk-inset-text").last.inner_text()

    # the clean one: no warning; approve, unpublish with a reason, approve again
    _open_from_queue(page, queue["titles"]["clean"])
    assert page.locator("#review-warnings").count() == 0
    page.frame_locator("iframe[title^='Static preview']").get_by_role("heading", name="Squares").wait_for()
    page.get_by_label("Comment (optional)").fill("Clear and useful.")
    page.get_by_role("button", name="Approve and publish").click()
    page.get_by_role("link", name="Open the dashboard").wait_for()
    page.get_by_label("Reason for unpublishing").fill("Republishing after a check.")
    page.get_by_role("button", name="Unpublish").click()
    page.get_by_text("unpublished", exact=True).first.wait_for()
    page.get_by_role("button", name="Approve and publish").click()
    page.get_by_role("link", name="Open the dashboard").wait_for()
    comments = page.locator(".govuk-inset-text").all_inner_texts()
    assert [re.search(r"\((\w+),", c).group(1) for c in comments] == ["approve", "unpublish", "approve"]

    # the participant, in their own browser, reads the reason under My submissions
    participant = new_context().pages[0]
    open_gallery_signed_in(participant, lab, author)
    nav(participant, "My submissions")
    row = row_of(participant, queue["titles"]["leaky"])
    assert "rejected" in row.inner_text() and REASON in row.inner_text()
    row.get_by_role("link", name=queue["titles"]["leaky"]).click()
    participant.get_by_text(REASON).wait_for()
    assert "published" in row_of_mine(participant, queue["titles"]["clean"]).inner_text()


def row_of_mine(page, title):
    nav(page, "My submissions")
    return row_of(page, title)
