"""In Chromium (issue 14, items 1, 2 and 5): a published widget dashboard opens drawn from the state saved with
its rendered page, with no kernel started; the viewer's first move takes it live (the page says so while it
connects, and neither scrolls nor jumps) and the output follows; over the cap a second viewer is told her place in
line and goes live when the first closes her page; a page whose kernel was returned for idleness says so, and its
next move goes live again; a kernel that never answers is given back after a minute, and the next move tries again.

One lab of its own: one live kernel per dashboard (`Dashboards.live_per_dashboard`), returned after IDLE seconds
without a widget message (`Dashboards.live_idle_timeout`), set in the lab's ``gallery_config.json``.
"""

from __future__ import annotations

import json
import re
import time

import nbformat
import pytest
from backstage_testing.dashboards import publish_dashboard, settled_kernel_ids, voila_kernel_ids
from backstage_testing.lab import own_lab
from playwright.sync_api import expect
from test_gallery_browser import WIDGET  # the squares dashboard: a slider, a label, printed output

pytestmark = [pytest.mark.browser, pytest.mark.integration]

IDLE = 45  # seconds: long enough that no test's second viewer could go live by the first one's idleness
BUTTON = (
    "import ipywidgets as w\n"
    "count = w.Label('clicks: 0')\n"
    "b = w.Button(description='Count')\n"
    "def clicked(_):\n    count.value = f'clicks: {int(count.value.split()[1]) + 1}'\n"
    "b.on_click(clicked)\n"
    "w.HBox([w.VBox([b]), count])"
)
# ms to go live: on a busy machine a kernel may have to start first (niced), while the dashboards' pool refills
GO_LIVE = 120_000
CONNECTING = "Connecting the controls…"
IN_LINE = re.compile(r"You are number 1 in line: the page stays as it is; the controls will follow when a place frees up")
QUIET = "The controls went quiet to free their place: move one to continue"
CONNECT_LIMIT = 60_000  # ms: golive.js CONNECT_LIMIT_MS
CONNECT_FAILED = ("The controls could not go live (the dashboard's kernel did not answer within 60 s): "
                  "move one to try again")
# Every text the status line shows, in order (some last only a moment).
WATCH_STATUS = """() => {
  window.statusSeen = [];
  const el = document.getElementById('backstage-dashboard-status');
  new MutationObserver(() => window.statusSeen.push(el.textContent))
    .observe(el, {childList: true, characterData: true, subtree: true});
}"""


@pytest.fixture(scope="module")
def lab():
    with own_lab("v", gallery_config={"Dashboards": {"live_per_dashboard": 1, "live_idle_timeout": IDLE}},
                 gallery=True, idle_timeout=0) as lab:
        yield lab


@pytest.fixture(scope="module")
def site(lab):
    people = {}
    for name, group in (("vauthor", "participants"), ("vreviewer", "reviewers"), ("vada", "officials"),
                        ("vbea", "officials")):
        session = lab.create_user(name, groups=(group,))
        people[name] = {"name": name, "password": session.password}
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(WIDGET)]
    url = publish_dashboard(lab, json.loads(nbformat.writes(nb)), lab.token_for("vauthor"), lab.token_for("vreviewer"),
                            title="Squares live", summary="a slider, a label and printed output",
                            approve={"public": True})
    wait_rendered(lab, url)
    return {"people": people, "url": url, "title": "Squares live"}


@pytest.fixture(scope="module")
def button_dashboard(lab, site):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(BUTTON)]
    url = publish_dashboard(lab, json.loads(nbformat.writes(nb)), lab.token_for("vauthor"), lab.token_for("vreviewer"),
                            title="Click counter", summary="a button and a label")
    wait_rendered(lab, url)
    return {**site, "url": url, "title": "Click counter"}


def wait_rendered(lab, url):
    """The gallery renders a new version in the background, once: wait for its stored page."""
    slug = url.rstrip("/").rsplit("/", 1)[1]
    deadline = time.monotonic() + 300
    while not list((lab.state_dir / "gallery" / "rendered").glob(f"{slug}-v*.html")):
        assert time.monotonic() < deadline, "the dashboard was not rendered within 300 s: see the gallery's log"
        time.sleep(1)


def open_dashboard(lab, site, page, person):
    """Sign in from the gallery, pick the dashboard there, and wait until its widgets are drawn."""
    gallery = lab.service_url("gallery")
    page.goto(gallery)
    if "/hub/login" not in page.url:  # the gallery shows its public dashboards to everyone: sign in from there
        page.get_by_role("link", name=re.compile(r"^Sign in")).first.click()
    page.get_by_label("Username").fill(site["people"][person]["name"])
    page.get_by_label("Password", exact=True).fill(site["people"][person]["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: url.startswith(gallery))
    page.get_by_role("link", name=site["title"], exact=True).click()
    page.wait_for_url(site["url"])
    page.wait_for_selector("body[data-dashboard-ready=true]")
    page.evaluate(WATCH_STATUS)
    return page.get_by_role("slider").first


def move(page, slider, times=1):
    slider.focus()
    for _ in range(times):
        page.keyboard.press("ArrowRight")


def open_live(lab, site, new_context, person):
    """A new viewer who opens the dashboard and moves the slider once: her page is live (the slider at 4)."""
    page = new_context().new_page()
    move(page, open_dashboard(lab, site, page, person))
    expect(page.get_by_text("squared: 16")).to_be_visible(timeout=GO_LIVE)
    expect(page.locator("body")).to_have_attribute("data-dashboard-live", "true")
    return page


def test_a_dashboard_opens_drawn_with_no_kernel_and_goes_live_on_the_first_move(lab, site, new_context):
    before = settled_kernel_ids(lab.lab_id)
    page = new_context().new_page()
    slider = open_dashboard(lab, site, page, "vada")
    # drawn from the saved state: the slider where the notebook left it, the label and the printed output
    expect(slider).to_have_attribute("aria-valuenow", re.compile(r"^3(\.0)?$"))
    expect(page.get_by_text("squared: 9")).to_be_visible()
    expect(page.locator(".widget-output")).to_have_text(re.compile("tenfold: 30"))
    assert page.locator(".jupyter-widgets-disconnected").count() == 0  # not greyed out
    time.sleep(3)
    assert voila_kernel_ids(lab.lab_id) == before, "opening the rendered page started (or took) a kernel"
    assert page.locator("body").get_attribute("data-dashboard-live") is None

    slider.scroll_into_view_if_needed()
    where = (slider.bounding_box()["y"], page.evaluate("scrollY"))
    move(page, slider, 2)  # the second move comes while the page connects: it is kept too
    expect(page.get_by_text("squared: 25")).to_be_visible(timeout=GO_LIVE)
    expect(page.locator(".widget-output")).to_have_text(re.compile("tenfold: 50"))
    expect(page.locator("body")).to_have_attribute("data-dashboard-live", "true")
    assert CONNECTING in page.evaluate("window.statusSeen")
    expect(page.locator("#backstage-dashboard-status")).to_be_hidden()
    now = (page.get_by_role("slider").first.bounding_box()["y"], page.evaluate("scrollY"))
    assert all(abs(a - b) <= 1 for a, b in zip(now, where, strict=True)), f"the page moved when it went live: {where} → {now}"
    # the live slider kept the focus: the next key goes straight to the kernel
    page.keyboard.press("ArrowRight")
    expect(page.get_by_text("squared: 36")).to_be_visible(timeout=30_000)
    expect(page.locator(".widget-output")).to_have_text(re.compile("tenfold: 60"))
    deadline = time.monotonic() + 120  # a kernel was taken from the pool for this page: the pool refills
    while voila_kernel_ids(lab.lab_id) == before:
        assert time.monotonic() < deadline, "going live took no kernel from the dashboards' pool"
        time.sleep(1)
    page.close(run_before_unload=True)


def test_over_the_cap_a_viewer_waits_in_line_and_goes_live_when_the_first_closes_her_page(lab, site, new_context):
    first = open_live(lab, site, new_context, "vada")
    last_message = time.monotonic()

    second = new_context().new_page()
    slider = open_dashboard(lab, site, second, "vbea")
    move(second, slider)
    status = second.locator("#backstage-dashboard-status")
    expect(status).to_have_text(IN_LINE, timeout=30_000)
    # the page stays as it is, and still answers the viewer's moves
    expect(second.get_by_text("squared: 9")).to_be_visible()
    move(second, slider)
    expect(slider).to_have_attribute("aria-valuenow", re.compile(r"^5(\.0)?$"))
    time.sleep(3)
    expect(status).to_have_text(IN_LINE)
    assert second.locator("body").get_attribute("data-dashboard-live") is None

    first.close(run_before_unload=True)  # frees the place
    expect(second.get_by_text("squared: 25")).to_be_visible(timeout=GO_LIVE)
    expect(second.locator("body")).to_have_attribute("data-dashboard-live", "true")
    assert time.monotonic() - last_message < IDLE or "returned idle live kernel" not in lab.log_text(), \
        "the place was freed by idleness, not by the page closing"
    second.close(run_before_unload=True)


def test_a_page_gone_quiet_says_so_and_its_next_move_goes_live_again(lab, site, new_context):
    page = open_live(lab, site, new_context, "vada")
    status = page.locator("#backstage-dashboard-status")
    expect(status).to_have_text(QUIET, timeout=(IDLE + 60) * 1000)
    assert page.locator("body").get_attribute("data-dashboard-live") is None
    # the page stays as the viewer left it
    expect(page.get_by_text("squared: 16")).to_be_visible()
    expect(page.locator(".widget-output")).to_have_text(re.compile("tenfold: 40"))

    move(page, page.get_by_role("slider").first)
    expect(page.get_by_text("squared: 25")).to_be_visible(timeout=GO_LIVE)
    expect(page.locator("body")).to_have_attribute("data-dashboard-live", "true")
    page.close(run_before_unload=True)


def test_an_anonymous_viewer_is_asked_to_sign_in_by_the_controls_and_goes_live_once_signed_in(lab, site, new_context):
    page = new_context().new_page()
    page.goto(lab.service_url("gallery"))  # a public dashboard: anyone may read it
    page.get_by_role("link", name=site["title"], exact=True).click()
    page.wait_for_selector("body[data-dashboard-ready=true]")
    slider = page.get_by_role("slider").first
    move(page, slider)
    status = page.locator("#backstage-dashboard-status")
    expect(status).to_have_text("Sign in to use the controls", timeout=30_000)
    expect(page.get_by_text("squared: 9")).to_be_visible()  # the page stays as it is
    assert page.locator("body").get_attribute("data-dashboard-live") is None
    status.get_by_role("link", name="Sign in").click()
    page.get_by_label("Username").fill(site["people"]["vbea"]["name"])
    page.get_by_label("Password", exact=True).fill(site["people"]["vbea"]["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_selector("body[data-dashboard-ready=true]")
    assert page.url.startswith(site["url"]), page.url
    move(page, page.get_by_role("slider").first)
    expect(page.get_by_text("squared: 16")).to_be_visible(timeout=GO_LIVE)
    page.close(run_before_unload=True)


def test_a_kernel_that_never_answers_is_given_back_and_the_next_move_tries_again(lab, site, new_context):
    page = new_context().new_page()
    answering = False

    def kernel_socket(ws):  # until `answering`, the page's kernel connection goes nowhere: the kernel never answers
        if answering:
            ws.connect_to_server()

    page.route_web_socket(re.compile(r"/api/kernels/[^/]+/channels"), kernel_socket)
    slider = open_dashboard(lab, site, page, "vada")
    move(page, slider)
    status = page.locator("#backstage-dashboard-status")
    expect(status).to_have_text(CONNECT_FAILED, timeout=CONNECT_LIMIT + 30_000)
    # the page stays as the viewer left it: the slider moved, the rest as drawn
    expect(page.get_by_role("slider").first).to_have_attribute("aria-valuenow", re.compile(r"^4(\.0)?$"))
    expect(page.get_by_text("squared: 9")).to_be_visible()
    assert page.locator("body").get_attribute("data-dashboard-live") is None

    answering = True
    move(page, page.get_by_role("slider").first)
    # the kernel was given back: with one place for this dashboard, the next move goes live without a wait in line
    expect(page.get_by_text("squared: 25")).to_be_visible(timeout=GO_LIVE)
    expect(page.locator("body")).to_have_attribute("data-dashboard-live", "true")
    assert not [text for text in page.evaluate("window.statusSeen") if IN_LINE.search(text)]
    page.close(run_before_unload=True)


def test_a_button_click_takes_the_page_live_and_reaches_the_kernel(lab, button_dashboard, new_context):
    page = new_context().new_page()
    open_dashboard(lab, button_dashboard, page, "vada")
    expect(page.get_by_text("clicks: 0")).to_be_visible()
    page.get_by_role("button", name="Count").click()  # a custom message, not a change of state
    expect(page.get_by_text("clicks: 1")).to_be_visible(timeout=GO_LIVE)
    expect(page.locator("body")).to_have_attribute("data-dashboard-live", "true")
    page.get_by_role("button", name="Count").click()  # the live button (in a box in a box) took its place
    expect(page.get_by_text("clicks: 2")).to_be_visible(timeout=30_000)
    page.close(run_before_unload=True)
