"""Rendered dashboards on the real lab (issue 14 item 1): a published version is rendered once and served to
every viewer with its widgets' state and no kernel; a ticket is the page's only credential; anonymous viewers
see public dashboards only; going live still lets only widget messages through."""

import json
import re
import time
import uuid
from pathlib import Path
from urllib.parse import urljoin

import pytest
import requests
from backstage_testing.dashboards import publish_dashboard, settled_kernel_ids, voila_kernel_ids
from test_gallery_flow import (
    WIDGET_CODE,
    _assert_kernel_answers_and_nothing_ran,
    _close_code,
    _ws,
    auth,
    notebook,
)

pytestmark = pytest.mark.integration

# An output that tries to break out of the page's scripts and to fake a second configuration.
HOSTILE_OUTPUT = (
    "from IPython.display import HTML, display\n"
    "display(HTML('<script id=\"jupyter-config-data\" type=\"application/json\">{\"kernelId\": \"x\"}</script>'))\n"
    "w.Label(value='</script><script>window.pwned = 1</script>')"
)
# Each render differs (the time it ran): a re-render is visible in the page.
RENDER_TIME = "import time\nprint('rendered at', time.time_ns())"


def config_of(html: str) -> dict:
    return json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', html,
                                re.DOTALL).group(1))


def state_of(html: str) -> dict:
    return json.loads(re.search(r'<script id="backstage-widget-state" type="application/vnd.jupyter.widget-state\+json">'
                                r"(.*?)</script>", html, re.DOTALL).group(1))


def slots_of(html: str) -> list[str]:
    return [json.loads(m)["model_id"] for m in
            re.findall(r'<script type="application/vnd.jupyter.widget-view\+json">(.*?)</script>', html, re.DOTALL)]


def wait_rendered(url: str, headers: dict | None = None, timeout: float = 240) -> requests.Response:
    """The dashboard's page once it is the rendered one (the first views after an approval may be the fallback)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = requests.get(url, headers=headers or {}, timeout=120)
        if r.status_code == 200 and '"kernelId":null' in r.text:
            return r
        time.sleep(1)
    raise AssertionError(f"{url} was not rendered within {timeout} s: {r.status_code} {r.text[:300]}")


def live_url(lab, page: str) -> str:
    return urljoin(lab.service_url("gallery"), config_of(page)["live"]["url"])


def go_live(lab, page: str, **extra) -> requests.Response:
    """POST the page's ticket as the sandboxed page does: no cookies, Origin null."""
    body = {"ticket": config_of(page)["live"]["ticket"], **extra}
    return requests.post(live_url(lab, page), json=body, headers={"Origin": "null"}, timeout=120)


@pytest.fixture(scope="module")
def people(lab):
    suffix = uuid.uuid4().hex[:4]
    names = {"author": f"rna{suffix}", "reviewer": f"rnr{suffix}", "official": f"rno{suffix}"}
    groups = {"author": ("participants",), "reviewer": ("reviewers",), "official": ("officials",)}
    for role, name in names.items():
        lab.create_user(name, groups=groups[role])
    return {role: {"name": name, "token": lab.token_for(name)} for role, name in names.items()}


@pytest.fixture(scope="module")
def private(lab, people):
    url = publish_dashboard(lab, notebook(WIDGET_CODE, HOSTILE_OUTPUT, RENDER_TIME), people["author"]["token"],
                            people["reviewer"]["token"], title=f"Rendered squares {uuid.uuid4().hex[:4]}")
    page = wait_rendered(url, auth(people["official"]["token"]))
    return {"url": url, "page": page}


@pytest.fixture(scope="module")
def public(lab, people):
    url = publish_dashboard(lab, notebook(WIDGET_CODE), people["author"]["token"], people["reviewer"]["token"],
                            title=f"Public squares {uuid.uuid4().hex[:4]}", approve={"public": True})
    wait_rendered(url, auth(people["official"]["token"]))
    return url


def test_views_start_no_kernel_and_get_the_rendered_page_with_its_widget_state(lab, people, private):
    html = private["page"].text
    config = config_of(html)
    assert config["kernelId"] is None and config["version"] == 1
    assert private["url"].endswith("/dashboards/" + config["slug"])
    assert config["live"]["url"].endswith("/dashboards/api/live") and config["live"]["ticket"]
    state = state_of(html)
    assert state["version_major"] == 2 and state["version_minor"] == 0
    slots = slots_of(html)
    assert len(slots) == 2 and all(s in state["state"] for s in slots), (slots, list(state["state"]))
    slider = next(m for m in state["state"].values() if m["model_name"] == "IntSliderModel")
    assert slider["state"]["value"] == 3 and slider["model_module"] == "@jupyter-widgets/controls"
    assert any(m["state"].get("value") == "squared: 9" for m in state["state"].values())
    assert "backstageEarlyKernel" not in html and 'id="backstage-dashboard-status" role="status"' in html
    csp = private["page"].headers["Content-Security-Policy"]
    assert csp.startswith("sandbox allow-scripts") and "allow-same-origin" not in csp
    assert private["page"].headers["Cache-Control"] == "no-store"
    # A crowd of views: no kernel is started for any of them.
    before = settled_kernel_ids(lab.lab_id)
    tickets = set()
    for _ in range(10):
        r = requests.get(private["url"], headers=auth(people["official"]["token"]), timeout=60)
        assert r.status_code == 200 and config_of(r.text)["kernelId"] is None
        tickets.add(config_of(r.text)["live"]["ticket"])
    assert len(tickets) == 10  # minted per response
    time.sleep(2)
    assert voila_kernel_ids(lab.lab_id) == before


def test_a_dashboard_with_no_widgets_is_rendered_too(lab, people):
    """Its kernel never imported ipywidgets, so it has no widget comm to answer: its state is empty, at once (the
    renders of such a dashboard used to wait 60 s for an answer that never came, fail, and be retried for ever)."""
    code = "from IPython.display import HTML, display\ndisplay(HTML('<p id=\"plain\">No controls here</p>'))"
    url = publish_dashboard(lab, notebook(code), people["author"]["token"], people["reviewer"]["token"],
                            title=f"Plain page {uuid.uuid4().hex[:4]}")
    page = wait_rendered(url, auth(people["official"]["token"]), timeout=90)
    assert 'id="plain"' in page.text and state_of(page.text) == {"version_major": 2, "version_minor": 0, "state": {}}
    assert slots_of(page.text) == []


def test_hostile_outputs_cannot_break_out_of_the_embedded_state_or_replace_the_configuration(private):
    html = private["page"].text
    state_script = re.search(r'<script id="backstage-widget-state"[^>]*>(.*?)</script>', html, re.DOTALL).group(1)
    assert "</script>" not in state_script and "<script>window.pwned" not in state_script
    assert any(m["state"].get("value") == "</script><script>window.pwned = 1</script>"
               for m in state_of(html)["state"].values())
    assert config_of(html)["kernelId"] is None  # the real configuration comes first, the author's fake after it
    assert "@@backstage-live-ticket@@" not in html


def test_going_live_takes_a_pooled_kernel_whose_slots_match_and_only_widget_messages_pass(lab, private):
    r = go_live(lab, private["page"].text)
    assert r.status_code == 200, r.text
    assert r.headers["Access-Control-Allow-Origin"] == "null" and "Access-Control-Allow-Credentials" not in r.headers
    kernel_id, views = r.json()["kernelId"], r.json()["views"]
    assert kernel_id in voila_kernel_ids(lab.lab_id)
    assert len(views) == len(slots_of(private["page"].text)) and views != slots_of(private["page"].text)
    marker = f"/tmp/gallery-live-exec-{uuid.uuid4().hex}"
    ws = _ws(lab, kernel_id)
    ws.send(json.dumps({"header": {"msg_id": uuid.uuid4().hex, "msg_type": "execute_request", "username": "x",
                                   "session": "s", "version": "5.3", "date": "2026-01-01T00:00:00Z"},
                        "parent_header": {}, "metadata": {}, "channel": "shell",
                        "content": {"code": f"open({marker!r}, 'w').write('pwned')", "silent": False}}))
    assert _close_code(ws) == 1008
    _assert_kernel_answers_and_nothing_ran(lab, kernel_id, marker)
    # the page closing (its beacon) shuts the kernel down
    r = requests.post(f"{lab.service_url('gallery')}dashboards/voila/api/shutdown/{kernel_id}",
                      headers={"Origin": "null"}, timeout=30)
    assert r.status_code in (200, 204), r.text
    deadline = time.monotonic() + 30
    while kernel_id in voila_kernel_ids(lab.lab_id) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert kernel_id not in voila_kernel_ids(lab.lab_id)


def test_forged_damaged_and_expired_tickets_are_refused(lab, private):
    from backstage.gallery.rendered import Tickets

    page = private["page"].text
    ticket = config_of(page)["live"]["ticket"]
    payload, signature = ticket.split(".")
    other = Tickets(b"k" * 32)
    key = (Path(lab.state_dir) / "gallery" / "ticket.key").read_bytes()
    slug = config_of(page)["slug"]
    for bad in (other.mint(slug, 1, "official", "someone"),  # signed with another key
                payload[:-2] + "xx." + signature,  # payload changed
                Tickets(key, ttl=-60).mint(slug, 1, "official", "someone"),  # expired
                "not-a-ticket", 42, None):
        r = requests.post(live_url(lab, page), json={"ticket": bad}, headers={"Origin": "null"}, timeout=30)
        assert r.status_code == 403, (bad, r.status_code, r.text)
        assert "reload the dashboard's page" in r.json()["message"]
    r = requests.post(live_url(lab, page), data=b"{not json", headers={"Origin": "null"}, timeout=30)
    assert r.status_code == 400 and "JSON" in r.json()["message"]
    # a valid ticket of the right key for another dashboard's name does not open this one
    r = requests.post(live_url(lab, page), json={"ticket": Tickets(key).mint("no-such-dashboard", 1, "official", "x")},
                      headers={"Origin": "null"}, timeout=30)
    assert r.status_code == 404
    assert ticket not in lab.log_text()  # never in a log


def test_anonymous_viewers_see_public_dashboards_only_and_are_asked_to_sign_in_to_go_live(lab, private, public):
    r = requests.get(public, timeout=60)
    assert r.status_code == 200 and config_of(r.text)["kernelId"] is None, r.text[:300]
    assert r.headers["Content-Security-Policy"].startswith("sandbox allow-scripts")
    assert "Remix in my lab" not in r.text
    live = go_live(lab, r.text)
    assert live.status_code == 401 and live.json()["message"] == "Sign in to use the controls"
    assert live.json()["login_url"].endswith("?sign_in=1")
    signin = requests.get(urljoin(public, live.json()["login_url"]), allow_redirects=False, timeout=30)
    assert signin.status_code == 302 and "oauth2/authorize" in signin.headers["Location"]
    # a non-public dashboard and one that does not exist look the same: a 404 page offering to sign in
    hidden = requests.get(private["url"], timeout=60)
    missing = requests.get(urljoin(private["url"], "no-such-dashboard-here"), timeout=60)
    for r in (hidden, missing):
        assert r.status_code == 404 and "Sign in" in r.text and "?sign_in=1" in r.text
        assert "Rendered squares" not in r.text and "kernelId" not in r.text
    assert hidden.text.replace(private["url"].rsplit("/", 1)[1], "X") == \
        missing.text.replace("no-such-dashboard-here", "X")
    # a bad token is told so, not treated as anonymous
    r = requests.get(public, headers=auth("not-a-token"), timeout=30)
    assert r.status_code == 403


def test_a_rerender_request_renders_the_page_again_and_unpublishing_removes_it(lab, people, private):
    from backstage.gallery.rendered import request_rerender

    page = private["page"].text
    first = re.search(r"rendered at (\d+)", page).group(1)
    request_rerender(Path(lab.state_dir) / "gallery", config_of(page)["slug"])
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        r = requests.get(private["url"], headers=auth(people["official"]["token"]), timeout=60)
        again = re.search(r"rendered at (\d+)", r.text).group(1)
        if again != first:
            break
        time.sleep(1)
    assert again != first and config_of(r.text)["kernelId"] is None
    slug = config_of(page)["slug"]
    assert list((Path(lab.state_dir) / "gallery" / "rendered").glob(f"{slug}-v*.html"))
    items = requests.get(f"{lab.service_url('gallery')}api/submissions", headers=auth(people["reviewer"]["token"]),
                         timeout=30).json()["submissions"]
    submission = next(i for i in items if i["slug"] == slug and i["status"] == "published")
    r = requests.post(f"{lab.service_url('gallery')}api/submissions/{submission['id']}/unpublish",
                      headers=auth(people["reviewer"]["token"]), json={"reason": "test"}, timeout=120)
    assert r.status_code == 200, r.text
    assert not list((Path(lab.state_dir) / "gallery" / "rendered").glob(f"{slug}-v*.html"))
    assert requests.get(private["url"], headers=auth(people["official"]["token"]), timeout=30).status_code == 404
    r = go_live(lab, page)
    assert r.status_code == 404 and "no longer published" in r.json()["message"]
