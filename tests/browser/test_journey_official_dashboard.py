"""The official's journey to a dashboard, in Chromium, through the pages only (issue 10).

An official opens an approved dashboard from the gallery: the page has the service's header with the
dashboard's title and a way back to the gallery; the author's tutorial text is not there; the widgets respond.
"""

import pytest
from backstage_testing.dashboards import wait_rendered
from backstage_testing.journeys import (
    TUTORIAL,
    approve_by_api,
    dashboard_notebook,
    open_gallery_signed_in,
    people,
    submit_by_api,
    wait_checked,
)

pytestmark = [pytest.mark.browser, pytest.mark.integration]


@pytest.fixture(scope="module")
def dashboard(lab):
    team = people(lab, author="participants", reviewer="reviewers", official="officials")
    title = f"Squares for officials {team['author']['name'][-4:]}"
    submission = submit_by_api(lab, team["author"]["token"], title, dashboard_notebook())
    assert wait_checked(lab, team["author"]["token"], submission)["status"] == "awaiting-review"
    url = approve_by_api(lab, team["reviewer"]["token"], submission)["url"]
    # the official opens it later, from an e-mail: by then the gallery has rendered it (until then a view runs a
    # kernel of its own, which on a busy machine took over a minute in CI)
    wait_rendered(lab, url.rstrip("/").rsplit("/", 1)[-1])
    return {"people": team, "title": title}


def test_an_official_opens_a_dashboard_with_a_header_and_a_way_back_and_its_widgets_respond(lab, dashboard, browser):
    page = browser.pages[0]
    open_gallery_signed_in(page, lab, dashboard["people"]["official"])
    page.get_by_role("link", name=dashboard["title"]).click()

    header = page.locator("header.backstage-header")
    header.wait_for()
    assert "Government Backstage dashboards" in header.inner_text()
    assert page.get_by_role("heading", name=dashboard["title"], level=1).is_visible()
    page.get_by_text("squared: 9").wait_for(timeout=60_000)
    assert page.get_by_text(TUTORIAL).count() == 0  # the author's tutorial cell is left out

    slider = page.get_by_role("slider").first
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    # a rendered page (the default) goes live on this first move: a kernel, its websocket, the views swapped
    page.get_by_text("squared: 25").wait_for(timeout=60_000)

    page.get_by_role("link", name="Back to the gallery").click()
    page.get_by_role("heading", name="Dashboards made with UK open data").wait_for()
    assert page.get_by_role("link", name=dashboard["title"]).is_visible()
