"""In Chromium: officials use the gallery and its dashboards; accessibility; offline; script isolation."""

import json
import re
import time
import uuid
from urllib.parse import urljoin

import nbformat
import pytest
import requests
from backstage_testing.browser import axe_violations, is_loopback, sign_in

pytestmark = [pytest.mark.browser, pytest.mark.integration]

GALLERY = "/services/gallery/"
WIDGET = (
    "import ipywidgets as w\n"
    "s = w.IntSlider(value=3, min=0, max=20, description='n')\n"
    "out = w.Label()\n"
    "printed = w.Output()\n"
    "def f(change=None):\n    out.value = f'squared: {s.value ** 2}'\n"
    "    with printed:\n        printed.clear_output()\n        print(f'tenfold: {s.value * 10}')\n"
    "s.observe(f, 'value'); f()\n"
    "w.VBox([s, out, printed])"
)
MAP = (
    "import govdata\n"
    "imd = govdata.load('imd-2019-lad21')\n"
    "lads = govdata.load('lad-boundaries-2021')\n"
    "gdf, report = govdata.join_by_code(imd, lads, 'ltla21_code', 'LAD21CD')\n"
    "govdata.choropleth(gdf, 'Score', legend='IMD 2019 average score', tooltip=['LAD21NM', 'Score'])"
)
# A hostile output script: it tries to act as the viewer against the hub and the gallery.
PROBE_JS = """
(async () => {
  let xsrf = '';
  try { xsrf = (document.cookie.match(/_xsrf=([^;]+)/) || [])[1] || ''; } catch (e) { xsrf = ''; }
  const results = [];
  for (const url of ['/hub/api/user', '/services/gallery/api/submissions']) {
    try {
      const r = await fetch(url, {credentials: 'include', headers: xsrf ? {'X-XSRFToken': xsrf} : {}});
      results.push(url + ' ' + r.status);
    } catch (e) { results.push(url + ' blocked'); }
  }
  return results.join('; ');
})()
"""
PROBE_CELL = (
    "from IPython.display import HTML\n"
    "HTML('<p id=\"hubprobe\">probing</p><script>' + " + json.dumps(PROBE_JS) + " + "
    "'.then(t => { document.getElementById(\"hubprobe\").textContent = \"done: \" + t; });</script>')"
)


def _publish(lab, author_token, reviewer_token, title, *sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    headers = {"Authorization": f"token {author_token}"}
    r = requests.post(f"{lab.service_url('gallery')}api/submissions", headers=headers, timeout=60,
                      json={"title": title, "summary": f"{title} summary", "topics": ["test"],
                            "notebook": json.loads(nbformat.writes(nb))})
    assert r.status_code == 201, r.text
    deadline = time.monotonic() + 300
    while time.monotonic() < deadline:
        item = requests.get(f"{lab.service_url('gallery')}api/submissions/{r.json()['id']}", headers=headers, timeout=30).json()
        if item["status"] != "checking":
            break
        time.sleep(1)
    assert item["status"] == "awaiting-review", item["checks"]
    r = requests.post(f"{lab.service_url('gallery')}api/submissions/{item['id']}/approve", json={}, timeout=120,
                      headers={"Authorization": f"token {reviewer_token}"})
    assert r.status_code == 200, r.text
    return {"id": item["id"], **r.json()}


@pytest.fixture(scope="module")
def site(lab):
    suffix = uuid.uuid4().hex[:4]
    people = {}
    for role, group in (("author", "participants"), ("reviewer", "reviewers"), ("official", "officials")):
        name = f"b{role[:3]}{suffix}"
        session = lab.create_user(name, groups=(group,))
        people[role] = {"name": name, "password": session.password, "token": lab.token_for(name)}
    a, r = people["author"]["token"], people["reviewer"]["token"]
    dashboards = {
        "widget": _publish(lab, a, r, f"Squares {suffix}", WIDGET),
        "map": _publish(lab, a, r, f"Deprivation map {suffix}", MAP),
        "probe": _publish(lab, a, r, f"Probe {suffix}", PROBE_CELL),
    }
    pending = requests.post(f"{lab.service_url('gallery')}api/submissions", headers={"Authorization": f"token {a}"},
                            json={"title": f"Pending {suffix}", "notebook": json.loads(nbformat.writes(
                                nbformat.v4.new_notebook()))}, timeout=60).json()
    return {"people": people, "dashboards": dashboards, "pending": pending["id"]}


def _wait_rendered(lab, path, token, timeout=240):
    """Until the gallery serves the dashboard's rendered page (the first views after an approval may take a kernel)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = requests.get(urljoin(lab.service_url("gallery"), path), headers={"Authorization": f"token {token}"}, timeout=60)
        if r.status_code == 200 and '"kernelId":null' in r.text:
            return
        time.sleep(1)
    raise AssertionError(f"{path} was not rendered within {timeout} s")


def test_an_official_opens_a_dashboard_from_the_gallery_and_its_widget_responds(lab, site, browser):
    official = site["people"]["official"]
    _wait_rendered(lab, site["dashboards"]["widget"]["url"], official["token"])  # rendered once after approval
    page = browser.pages[0]
    sign_in(page, lab, official["name"], official["password"])
    assert "Dashboards made with UK open data" in page.content()
    page.click(f"a[href$='dashboards/{site['dashboards']['widget']['slug']}']")
    label = page.locator("text=squared: 9")
    label.wait_for(timeout=60_000)
    # the rendered page (the default): widgets drawn from the saved state, no kernel until the viewer moves one
    page.wait_for_function("document.body.dataset.dashboardReady === 'true'", timeout=30_000)
    assert page.evaluate("JSON.parse(document.getElementById('jupyter-config-data').textContent).kernelId") is None
    page.locator(".widget-output", has_text="tenfold: 30").wait_for(timeout=30_000)
    slider = page.locator("[role=slider], .noUi-handle").first
    slider.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.locator("text=squared: 25").wait_for(timeout=60_000)
    assert page.locator("body").get_attribute("data-dashboard-live") == "true"  # it went live for the change
    # an Output widget shows what the callback printed (captured live, in the browser)
    page.locator(".widget-output", has_text="tenfold: 50").wait_for(timeout=30_000)
    assert "tenfold: 30" not in page.locator(".widget-output").inner_text()


def test_a_dashboard_script_gets_no_authenticated_answer_from_the_hub_or_the_gallery(lab, site, browser):
    official = site["people"]["official"]
    page = browser.pages[0]
    sign_in(page, lab, official["name"], official["password"])
    # control: the same script on an ordinary same-origin gallery page does act as the official
    control = page.evaluate(PROBE_JS)
    assert "/services/gallery/api/submissions 200" in control, control
    page.goto(urljoin(lab.service_url("gallery"), site["dashboards"]["probe"]["url"]))
    probe = page.locator("#hubprobe")
    page.wait_for_function("document.getElementById('hubprobe') && "
                           "document.getElementById('hubprobe').textContent.startsWith('done')", timeout=60_000)
    text = probe.text_content()
    assert " 200" not in text, text
    assert re.search(r"/hub/api/user (blocked|40[13])", text) and re.search(r"submissions (blocked|40[13])", text)


@pytest.mark.parametrize("page_name", ["gallery", "submit", "review", "submission"])
def test_gallery_pages_have_no_serious_accessibility_violations(lab, site, browser, page_name):
    reviewer = site["people"]["reviewer"]
    page = browser.pages[0]
    sign_in(page, lab, reviewer["name"], reviewer["password"])
    paths = {"gallery": "", "submit": "submit", "review": "review", "submission": f"submissions/{site['pending']}"}
    page.goto(f"{lab.service_url('gallery')}{paths[page_name]}")
    assert page.locator("h1").count() == 1
    assert axe_violations(page) == []


def _offline_context(new_context):
    context = new_context()
    outside = []

    def route(r):
        outside.append(r.request.url)
        r.abort("internetdisconnected")

    context.route(lambda url: not is_loopback(url), route)
    return context, outside


def test_offline_the_gallery_and_a_map_dashboard_render_with_no_failed_request(lab, site, new_context):
    official = site["people"]["official"]
    context, outside = _offline_context(new_context)
    page = context.pages[0]
    failed = []
    page.on("requestfailed", lambda r: failed.append(r.url))
    page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
    sign_in(page, lab, official["name"], official["password"])
    page.wait_for_load_state("networkidle")
    assert page.locator(".gallery-card").count() >= 3
    page.goto(urljoin(lab.service_url("gallery"), site["dashboards"]["map"]["url"]))
    frame_map = page.frame_locator("iframe").first.locator(".leaflet-interactive").first
    frame_map.wait_for(timeout=60_000)
    page.wait_for_load_state("networkidle")
    assert failed == [] and outside == [], (failed, outside)
