"""The gallery on the real lab: submit, checks, approve, open the dashboard; access rules; hostile inputs."""

import json
import os
import re
import time
import uuid
from urllib.parse import urljoin

import nbformat
import psutil
import pytest
import requests
import websocket
from backstage_testing.dashboards import settled_kernel_ids

pytestmark = pytest.mark.integration

GALLERY = "/services/gallery/"
WIDGET_CODE = (
    "import ipywidgets as w\n"
    "s = w.IntSlider(value=3, description='n')\n"
    "out = w.Label()\n"
    "def f(change=None):\n    out.value = f'squared: {s.value ** 2}'\n"
    "s.observe(f, 'value'); f()\n"
    "w.VBox([s, out])"
)


def notebook(*sources) -> dict:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return json.loads(nbformat.writes(nb))


def auth(token):
    return {"Authorization": f"token {token}"}


def wait_checked(lab, token, submission_id, timeout=240):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = requests.get(f"{lab.service_url('gallery')}api/submissions/{submission_id}", headers=auth(token), timeout=30)
        assert r.status_code == 200, r.text
        if r.json()["status"] != "checking":
            return r.json()
        time.sleep(1)
    raise AssertionError(f"checks of {submission_id} did not finish in {timeout} s")


def gallery_session(lab, name, groups):
    """A browser-like session signed in to the hub and, through hub OAuth, to the gallery."""
    session = lab.create_user(name, groups=groups)
    r = session.get(f"{lab.service_url('gallery')}sign-in", timeout=60)  # the gallery page itself is open to anyone
    assert r.status_code == 200 and "Dashboards made with UK open data" in r.text, r.text[:500]
    return session


def gallery_xsrf(session):
    return next(c.value for c in session.cookies if c.name == "_xsrf" and c.path.startswith(GALLERY.rstrip("/")))


@pytest.fixture(scope="module")
def people(lab):
    suffix = uuid.uuid4().hex[:4]
    names = {"author": f"ann{suffix}", "other": f"bob{suffix}", "reviewer": f"rev{suffix}", "official": f"off{suffix}"}
    groups = {"author": ("participants",), "other": ("participants",), "reviewer": ("reviewers",),
              "official": ("officials",)}
    for role, name in names.items():
        lab.create_user(name, groups=groups[role])
    return {role: {"name": name, "token": lab.token_for(name)} for role, name in names.items()}


@pytest.fixture(scope="module")
def published(lab, people):
    """A widget notebook submitted by the author, checked, and approved by the reviewer."""
    title = '"><img src=x onerror=alert(1)> Squares <script>alert(2)</script>'
    r = requests.post(f"{lab.service_url('gallery')}api/submissions", headers=auth(people["author"]["token"]), timeout=60,
                      json={"title": title, "summary": "<b>bold?</b>", "topics": ["maths", "<i>x</i>"],
                            "notebook": notebook(WIDGET_CODE)})
    assert r.status_code == 201, r.text
    assert r.json()["status"] == "checking"
    item = wait_checked(lab, people["author"]["token"], r.json()["id"])
    assert item["status"] == "awaiting-review", item["checks"]
    r = requests.post(f"{lab.service_url('gallery')}api/submissions/{item['id']}/approve",
                      headers=auth(people["reviewer"]["token"]), json={}, timeout=120)
    assert r.status_code == 200, r.text
    return {"id": item["id"], "title": title, **r.json()}


def test_submit_check_approve_then_an_official_opens_the_dashboard_with_a_token(lab, people, published):
    assert published["url"] == f"{GALLERY}dashboards/{published['slug']}"
    r = requests.get(urljoin(lab.service_url("gallery"), published["url"]), headers=auth(people["official"]["token"]), timeout=120)
    assert r.status_code == 200, r.text[:300]
    assert "jupyter-widgets" in r.text or "application/vnd.jupyter.widget-view+json" in r.text
    assert r.headers["Content-Security-Policy"].startswith("sandbox allow-scripts")
    assert "allow-same-origin" not in r.headers["Content-Security-Policy"]
    assert "cdn.jsdelivr.net" not in r.text
    # preheated: once the pool holds its kernels again, a page going live gets one that was already running
    # (settled: no render or refill under way, or the pool may hand out one it has just started)
    deadline = time.monotonic() + 120
    while len(pooled := settled_kernel_ids(lab.lab_id)) < 2 and time.monotonic() < deadline:
        time.sleep(0.5)
    assert len(pooled) >= 2, pooled
    assert _kernel_id(lab, people, published) in pooled


def _page_kernel(html: str) -> str:
    return re.search(r'"kernelId":\s*"([0-9a-f-]{36})"', html).group(1)


def _dashboard_kernels(lab) -> set[str]:
    """Ids of the kernels running under the gallery's dashboards' Voilà (from their connection files)."""
    found = set()
    for proc in _gallery_process(lab).children(recursive=True):
        try:
            found.update(re.findall(r"kernel-([0-9a-f-]{36})\.json", " ".join(proc.cmdline())))
        except psutil.Error:
            continue
    return found


def test_the_dashboard_opens_for_a_browser_session_following_the_oauth_redirects(lab, people, published):
    session = gallery_session(lab, people["official"]["name"], ("officials",))
    r = session.get(urljoin(lab.service_url("gallery"), published["url"]), timeout=120)
    assert r.status_code == 200 and r.url.endswith(published["url"])
    assert "kernelId" in r.text


def test_the_gallery_page_shows_hostile_text_escaped(lab, people, published):
    r = requests.get(f"{lab.service_url('gallery')}", headers=auth(people["official"]["token"]), timeout=60)
    assert r.status_code == 200
    assert "<script>alert(2)</script>" not in r.text and "<img src=x" not in r.text
    assert "&lt;script&gt;alert(2)&lt;/script&gt;" in r.text
    assert "&lt;i&gt;x&lt;/i&gt;" in r.text
    r = requests.get(f"{lab.service_url('gallery')}?topic=maths&q=squares", headers=auth(people["official"]["token"]),
                     timeout=60)
    assert published["slug"] in r.text
    r = requests.get(f"{lab.service_url('gallery')}?topic=nothing-like-this", headers=auth(people["official"]["token"]),
                     timeout=60)
    assert published["slug"] not in r.text


def test_only_reviewers_decide_and_participants_see_only_their_own_details(lab, people, published):
    other, official = people["other"]["token"], people["official"]["token"]
    for token in (other, official, people["author"]["token"]):
        for action in ("approve", "reject", "unpublish"):
            r = requests.post(f"{lab.service_url('gallery')}api/submissions/{published['id']}/{action}", headers=auth(token),
                              json={"reason": "no"}, timeout=30)
            assert r.status_code == 403, (action, r.text)
    r = requests.get(f"{lab.service_url('gallery')}api/submissions/{published['id']}", headers=auth(other), timeout=30)
    assert r.status_code == 404
    r = requests.get(f"{lab.service_url('gallery')}api/submissions/{published['id']}", headers=auth(people["author"]["token"]),
                     timeout=30)
    assert r.status_code == 200 and r.json()["checks"]["execution"]["ok"]
    r = requests.get(f"{lab.service_url('gallery')}review", headers=auth(other), timeout=30)
    assert r.status_code == 403
    r = requests.get(f"{lab.service_url('gallery')}submissions/{published['id']}/preview.html", headers=auth(other), timeout=30)
    assert r.status_code == 404
    # no group, no gallery
    lab.create_user(f"nogroup{uuid.uuid4().hex[:4]}")
    stranger = lab.token_for(next(n for n in lab.passwords if n.startswith("nogroup")))
    r = requests.get(urljoin(lab.service_url("gallery"), published["url"]), headers=auth(stranger), timeout=30)
    assert r.status_code == 403


def _count(lab, people):
    r = requests.get(f"{lab.service_url('gallery')}api/submissions", headers=auth(people["reviewer"]["token"]), timeout=30)
    return len(r.json()["submissions"])


DUPLICATE = notebook("a = 1", "b = 2")
DUPLICATE["cells"][1]["id"] = DUPLICATE["cells"][0]["id"]


@pytest.mark.parametrize("body, code, message", [
    ({"title": "t", "notebook": {}}, 400, "empty"),
    ({"title": "t", "notebook": {"nbformat": 4, "cells": "nope"}}, 400, "not valid nbformat"),
    ({"title": "t", "notebook": DUPLICATE}, 400, "repeats the cell id"),
    ({"title": "t", "notebook": notebook("x = '" + "a" * (6 * 1024 * 1024) + "'")}, 413, "larger than"),
    ({"title": "t", "path": "../other/x.ipynb"}, 400, ".."),
    ({"title": "t", "path": "%2e%2e%2fx.ipynb"}, 400, "percent-encoding"),
    ({"title": "t", "path": "/etc/passwd"}, 400, "absolute"),
    ({"title": "", "notebook": notebook("1")}, 400, "title"),
    ({"title": "t"}, 400, "either|'notebook'"),
])
def test_hostile_submissions_are_refused_and_nothing_is_stored(lab, people, body, code, message):
    before = _count(lab, people)
    r = requests.post(f"{lab.service_url('gallery')}api/submissions", headers=auth(people["author"]["token"]), json=body,
                      timeout=60)
    assert r.status_code == code, r.text[:300]
    assert re.search(message, r.json()["error"]), r.json()
    assert _count(lab, people) == before


def test_a_cookie_post_without_xsrf_is_refused_and_with_it_accepted(lab, people):
    session = gallery_session(lab, people["author"]["name"], ("participants",))
    before = _count(lab, people)
    body = {"title": "via cookie", "notebook": notebook("1 + 1")}
    r = session.post(f"{lab.service_url('gallery')}api/submissions", json=body, timeout=60)
    assert r.status_code == 403 and "XSRF" in r.json()["error"]
    assert _count(lab, people) == before
    r = session.post(f"{lab.service_url('gallery')}api/submissions", json=body, headers={"X-XSRFToken": gallery_xsrf(session)},
                     timeout=60)
    assert r.status_code == 201, r.text
    # the submit form too
    r = session.post(f"{lab.service_url('gallery')}submit", data={"title": "form", "path": "x.ipynb"}, timeout=60)
    assert r.status_code == 403


@pytest.mark.parametrize("path", ["dashboards/..%2f..%2fhub%2fapi", "dashboards/%2e%2e%2f%2e%2e%2fhub",
                                  "dashboards/voila/files/x.ipynb", "dashboards/voila/render/x.ipynb",
                                  "dashboards/voila/tree", "dashboards/nope", "dashboards/%2fetc%2fpasswd",
                                  "dashboards/voila/static/..%2f..%2fapp.py",
                                  "dashboards/voila/static/..%252f..%252fapp.py",
                                  "dashboards/voila/static/%2e%2e/%2e%2e/app.py"])
def test_hostile_dashboard_paths_get_nothing(lab, people, published, path):
    r = requests.get(f"{lab.service_url('gallery')}{path}", headers=auth(people["official"]["token"]), timeout=30,
                     allow_redirects=False)
    assert r.status_code in (400, 403, 404), (path, r.status_code)


def _kernel_id(lab, people, published):
    """The kernel of the official's view: the page's own (a kernel per view), or, for a rendered page (the default,
    no kernel), the one its live endpoint hands out, as when the viewer moves a control."""
    r = requests.get(urljoin(lab.service_url("gallery"), published["url"]), headers=auth(people["official"]["token"]), timeout=120)
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', r.text,
                                  re.DOTALL).group(1))
    if config["kernelId"]:
        return config["kernelId"]
    live = requests.post(urljoin(lab.service_url("gallery"), config["live"]["url"]), timeout=120,
                         json={"ticket": config["live"]["ticket"]}, headers={"Origin": "null"})
    assert live.status_code == 200, live.text
    return live.json()["kernelId"]


def _ws(lab, kernel_id, subprotocols=None):
    url = lab.service_url("gallery").replace("http://", "ws://", 1) + f"dashboards/api/kernels/{kernel_id}/channels"
    return websocket.create_connection(url + f"?session_id={uuid.uuid4()}", timeout=20, subprotocols=subprotocols)


def test_execute_request_on_the_dashboard_kernel_websocket_is_refused(lab, people, published, tmp_path):
    marker = f"/tmp/gallery-exec-{uuid.uuid4().hex}"
    kernel_id = _kernel_id(lab, people, published)
    ws = _ws(lab, kernel_id)
    msg = {"header": {"msg_id": uuid.uuid4().hex, "msg_type": "execute_request", "username": "x", "session": "s",
                      "version": "5.3", "date": "2026-01-01T00:00:00Z"},
           "parent_header": {}, "metadata": {}, "channel": "shell",
           "content": {"code": f"open({marker!r}, 'w').write('pwned')", "silent": False}}
    ws.send(json.dumps(msg))
    assert _close_code(ws) == 1008
    _assert_kernel_answers_and_nothing_ran(lab, kernel_id, marker)


def _close_code(ws, timeout: float = 20) -> int | None:
    """The code the gallery closes the websocket with (no execute_reply may arrive before it)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            opcode, data = ws.recv_data()
        except websocket.WebSocketConnectionClosedException:
            return None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(data[:2], "big")
        assert b"execute_reply" not in data
    return None


def _assert_kernel_answers_and_nothing_ran(lab, kernel_id, marker):
    """The kernel handles shell messages in order: once it answers a later kernel_info_request, a refused
    execute_request that had got through would have run (and written *marker*) already."""
    ws = _ws(lab, kernel_id)
    msg_id = uuid.uuid4().hex
    ws.send(json.dumps({"header": {"msg_id": msg_id, "msg_type": "kernel_info_request", "username": "x",
                                   "session": "s", "version": "5.3", "date": "2026-01-01T00:00:00Z"},
                        "parent_header": {}, "metadata": {}, "channel": "shell", "content": {}}))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        reply = json.loads(ws.recv())
        if reply.get("parent_header", {}).get("msg_id") == msg_id and reply["header"]["msg_type"] == "kernel_info_reply":
            break
    else:
        raise AssertionError("the dashboard kernel did not answer kernel_info_request")
    ws.close()
    assert not os.path.exists(marker)


def test_execute_request_in_the_v1_framing_is_refused_too(lab, people, published):
    from jupyter_server.services.kernels.connection.base import serialize_msg_to_ws_v1

    marker = f"/tmp/gallery-exec-v1-{uuid.uuid4().hex}"
    kernel_id = _kernel_id(lab, people, published)
    ws = _ws(lab, kernel_id, subprotocols=["v1.kernel.websocket.jupyter.org"])
    assert ws.subprotocol == "v1.kernel.websocket.jupyter.org"
    header = {"msg_id": uuid.uuid4().hex, "msg_type": "execute_request", "username": "x", "session": "s",
              "version": "5.3", "date": "2026-01-01T00:00:00Z"}
    content = {"code": f"open({marker!r}, 'w').write('pwned')", "silent": False}
    ws.send_binary(serialize_msg_to_ws_v1([json.dumps(p).encode() for p in (header, {}, {}, content)], "shell"))
    assert _close_code(ws) == 1008
    _assert_kernel_answers_and_nothing_ran(lab, kernel_id, marker)


def test_a_kernel_not_handed_out_with_a_page_cannot_be_reached(lab):
    ws = _ws(lab, str(uuid.uuid4()))
    with pytest.raises(websocket.WebSocketConnectionClosedException):
        for _ in range(5):
            ws.recv()


def test_submit_by_path_reads_the_submitters_own_server(lab, people):
    session = gallery_session(lab, people["author"]["name"], ("participants",))
    server = lab.spawn(session)
    token = people["author"]["token"]
    r = requests.put(f"{server}/api/contents/dash.ipynb", headers=auth(token), timeout=30,
                     json={"type": "notebook", "content": notebook("print('from my server')")})
    assert r.status_code in (200, 201), r.text
    page = session.get(f"{lab.service_url('gallery')}submit", timeout=60)
    assert "dash.ipynb" in page.text
    r = session.post(f"{lab.service_url('gallery')}submit", timeout=60,
                     data={"title": "From my server", "summary": "", "topics": "", "path": "dash.ipynb",
                           "_xsrf": gallery_xsrf(session)})
    assert r.status_code == 200 and "From my server" in r.text, r.text[:500]
    mine = requests.get(f"{lab.service_url('gallery')}api/submissions", headers=auth(token), timeout=30).json()["submissions"]
    assert any(s["title"] == "From my server" for s in mine)
    r = requests.post(f"{lab.service_url('gallery')}api/submissions", headers=auth(token), timeout=60,
                      json={"title": "missing", "path": "nope/missing.ipynb"})
    assert r.status_code == 404 and "no notebook" in r.json()["error"]
    # a file named .ipynb that is not JSON is reported as such (not as a server to start)
    r = requests.put(f"{server}/api/contents/broken.ipynb", headers=auth(token), timeout=30,
                     json={"type": "file", "format": "text", "content": "these are my notes, not a notebook"})
    assert r.status_code in (200, 201), r.text
    r = requests.post(f"{lab.service_url('gallery')}api/submissions", headers=auth(token), timeout=60,
                      json={"title": "broken", "path": "broken.ipynb"})
    assert r.status_code == 400 and r.json()["error"].startswith("not a notebook (not JSON)"), r.text
    # the Submit page's form carries a real XSRF field (not escaped text) and the idea from ?idea=
    page = session.get(f"{lab.service_url('gallery')}submit?idea=12", timeout=60)
    assert re.search(r'<input type="hidden" name="_xsrf" value="[^"<&]+"/?>', page.text), page.text[:2000]
    assert 'id="idea" name="idea" type="text" value="12"' in page.text


def test_a_notebook_cell_submits_with_the_servers_own_token(lab, people):
    """backstage.gallery.client.submit, run in a kernel of the author's server: no personal token anywhere."""
    session = gallery_session(lab, people["author"]["name"], ("participants",))
    lab.spawn(session)
    code = (
        "import nbformat, os\n"
        "nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell('print(6 * 7)'),\n"
        "    nbformat.v4.new_code_cell('from backstage.gallery.client import submit', metadata={'tags': ['author-only']})])\n"
        "nbformat.write(nb, 'from-a-cell.ipynb')\n"
        "from backstage.gallery.client import submit\n"
        "print(submit('from-a-cell.ipynb', 'From a cell', 'sent by the client', topics=['test'], idea=7))\n"
    )
    result = lab.execute(people["author"]["name"], code)
    assert result["error"] is None, result
    answer = eval(result["stdout"].strip().splitlines()[-1])  # noqa: S307 (a dict printed by our own code)
    assert answer["status"] == "checking" and answer["url"].endswith(f"submissions/{answer['id']}")
    item = requests.get(f"{lab.service_url('gallery')}api/submissions/{answer['id']}",
                        headers=auth(people["author"]["token"]), timeout=30).json()
    assert item["author"] == people["author"]["name"] and item["idea"] == 7 and item["title"] == "From a cell"
    # the server's token may submit, never review
    result = lab.execute(people["author"]["name"], (
        "import os, urllib.request, urllib.error\n"
        f"r = urllib.request.Request(os.environ['BACKSTAGE_GALLERY_API'] + 'submissions/{answer['id']}/approve',\n"
        "    data=b'{}', method='POST', headers={'Authorization': 'token ' + os.environ['JUPYTERHUB_API_TOKEN']})\n"
        "try:\n    urllib.request.urlopen(r)\nexcept urllib.error.HTTPError as e:\n    print(e.code)\n"))
    assert result["stdout"].strip() == "403", result
    lab.api("DELETE", f"/users/{people['author']['name']}/server")


def test_a_token_without_the_gallery_scope_is_told_the_real_cause(lab, people):
    token = lab.token_for(people["author"]["name"], scopes=["read:users:name"])
    r = requests.post(f"{lab.service_url('gallery')}api/submissions", headers=auth(token), timeout=30,
                      json={"title": "t", "notebook": notebook("1")})
    assert r.status_code == 403, r.text
    assert "does not carry the gallery's scope" in r.json()["error"] and "group" not in r.json()["error"].split(":")[0]


def test_check_results_show_no_terminal_codes_and_published_dashboards_are_listed_with_their_idea(lab, people):
    token = people["author"]["token"]
    r = requests.post(f"{lab.service_url('gallery')}api/submissions", headers=auth(token), timeout=60,
                      json={"title": "Fails", "notebook": notebook("raise ValueError('bad value')")})
    failed = wait_checked(lab, token, r.json()["id"])
    assert failed["status"] == "checks-failed" and "ValueError" in failed["checks"]["execution"]["error"]
    assert "\x1b" not in json.dumps(failed["checks"])
    r = requests.post(f"{lab.service_url('gallery')}api/submissions", headers=auth(token), timeout=60,
                      json={"title": f"Answers idea {uuid.uuid4().hex[:4]}", "idea": 12, "notebook": notebook("6 * 7")})
    assert r.status_code == 201 and r.json()["url"].endswith(f"submissions/{r.json()['id']}"), r.text
    page = requests.get(r.json()["url"], headers=auth(token), timeout=30)  # its page links to the idea
    assert f'{lab.service_url("commons")}ideas/12">Idea 12 in the commons' in page.text
    assert wait_checked(lab, token, r.json()["id"])["status"] == "awaiting-review"
    approved = requests.post(f"{lab.service_url('gallery')}api/submissions/{r.json()['id']}/approve",
                             headers=auth(people["reviewer"]["token"]), json={}, timeout=120).json()
    listed = requests.get(f"{lab.service_url('gallery')}api/dashboards", headers=auth(people["official"]["token"]),
                          timeout=30)
    assert listed.status_code == 200
    [entry] = [d for d in listed.json()["dashboards"] if d["slug"] == approved["slug"]]
    assert entry["idea"] == 12 and entry["author"] == people["author"]["name"] and entry["datasets"] == []
    assert entry["url"].endswith(approved["url"]) and entry["published_at"]
    r = requests.get(f"{lab.service_url('gallery')}api/dashboards", timeout=30)  # anyone: the public ones only
    assert r.status_code == 200 and approved["slug"] not in {d["slug"] for d in r.json()["dashboards"]}
    assert all(d["public"] for d in r.json()["dashboards"])


def test_unpublish_takes_the_dashboard_down(lab, people, published):
    r = requests.post(f"{lab.service_url('gallery')}api/submissions/{published['id']}/unpublish",
                      headers=auth(people["reviewer"]["token"]), json={"reason": ""}, timeout=60)
    assert r.status_code == 409 and "reason" in r.json()["error"]
    r = requests.post(f"{lab.service_url('gallery')}api/submissions/{published['id']}/unpublish",
                      headers=auth(people["reviewer"]["token"]), json={"reason": "out of date"}, timeout=120)
    assert r.status_code == 200
    r = requests.get(urljoin(lab.service_url("gallery"), published["url"]), headers=auth(people["official"]["token"]), timeout=30)
    assert r.status_code == 404
    r = requests.get(f"{lab.service_url('gallery')}api/submissions/{published['id']}", headers=auth(people["author"]["token"]),
                     timeout=30)
    assert r.json()["status"] == "unpublished" and r.json()["comments"][-1]["text"] == "out of date"


def _gallery_process(lab):
    found = []
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if (proc.info["cmdline"] or [])[-2:] == ["-m", "backstage.gallery"] and \
                    proc.environ().get("BACKSTAGE_LAB_ID") == lab.lab_id:
                found.append(proc)
        except psutil.Error:
            continue
    assert len(found) == 1, f"expected one gallery process for this lab, found {found}"
    return found[0]


def test_an_acknowledged_submission_survives_kill_9_and_the_restarted_gallery_leaves_no_orphan(lab, people):
    r = requests.post(f"{lab.service_url('gallery')}api/submissions", headers=auth(people["author"]["token"]), timeout=60,
                      json={"title": "Survives kill -9", "notebook": notebook(WIDGET_CODE)})
    assert r.status_code == 201, r.text
    submission = r.json()["id"]
    gallery = _gallery_process(lab)
    family = gallery.children(recursive=True)  # its Voilà and kernels, and the check now running
    assert any("voila" in " ".join(p.cmdline()) for p in family)
    gallery.kill()  # SIGKILL: no clean-up of any kind
    # The hub notices (its poll) and starts the gallery again, which resumes the interrupted check.
    deadline = time.monotonic() + 240
    while time.monotonic() < deadline:
        try:
            r = requests.get(f"{lab.service_url('gallery')}api/submissions/{submission}",
                             headers=auth(people["author"]["token"]), timeout=10)
            if r.status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(2)
    assert r.status_code == 200 and r.json()["title"] == "Survives kill -9", r.text
    assert _gallery_process(lab).pid != gallery.pid
    assert wait_checked(lab, people["author"]["token"], submission)["status"] == "awaiting-review"
    r = requests.post(f"{lab.service_url('gallery')}api/submissions/{submission}/approve",
                      headers=auth(people["reviewer"]["token"]), json={}, timeout=120)
    assert r.status_code == 200, r.text
    r = requests.get(urljoin(lab.service_url("gallery"), r.json()["url"]), headers=auth(people["official"]["token"]), timeout=120)
    assert r.status_code == 200 and "kernelId" in r.text  # the new gallery publishes and serves dashboards
    # The old gallery's Voilà and kernels got SIGTERM when it died (setpriv --pdeathsig): none lives on.
    deadline = time.monotonic() + 30
    while any(p.is_running() and p.status() != psutil.STATUS_ZOMBIE for p in family) and time.monotonic() < deadline:
        time.sleep(1)
    alive = [" ".join(p.cmdline())[:80] for p in family if p.is_running() and p.status() != psutil.STATUS_ZOMBIE]
    assert alive == [], alive


def test_pages_on_the_shared_web_base_keep_their_status_and_a_refused_form_keeps_what_was_typed(lab, people):
    """The gallery's pages use backstage.web: an unknown page is the shared 404 page naming the cause; a Submit
    form refused for its title answers 400 with the message and the person's other fields, and stores nothing."""
    session = gallery_session(lab, people["author"]["name"], ("participants",))
    r = session.get(f"{lab.service_url('gallery')}no-such-page", timeout=60)
    assert r.status_code == 404 and "Page not found" in r.text and "no such page in the gallery" in r.text
    assert "web/supported.js" in r.text and "Dashboard gallery" in r.text  # the shared layout, the gallery's name
    before = _count(lab, people)
    r = session.post(f"{lab.service_url('gallery')}submit", timeout=60,
                     data={"title": " ", "summary": "kept <b>as typed</b>", "path": "x.ipynb", "_xsrf": gallery_xsrf(session)})
    assert r.status_code == 400 and "give a title" in r.text, r.text[:500]
    assert "kept &lt;b&gt;as typed&lt;/b&gt;" in r.text
    assert _count(lab, people) == before
