"""A participant's JupyterLab: no call to the internet they did not ask for, and the gallery one click away.

Signed in through the pages only: the lab page's own settings API and page config show that news,
the update check and the extension manager are off; the server ran no subprocess at start (each
start used to run ``node yarn.js config --json`` to find an npm registry); the "Backstage" menu
opens the gallery, and the hub's Services menu names the services as people know them.
"""

from __future__ import annotations

import ipaddress
import json
import re
import time
from urllib.parse import urlparse

import psutil
import pytest
from backstage_testing.browser import fill_sign_in_form
from backstage_testing.journeys import people

pytestmark = pytest.mark.browser

PAGE_CONFIG = "() => JSON.parse(document.getElementById('jupyter-config-data').textContent)"


def _server_api(page, path: str) -> dict:
    """GET ``path`` of the server the page shows, with the page's cookies and XSRF header (as JupyterLab does)."""
    base = page.evaluate(PAGE_CONFIG)["baseUrl"]
    origin = "{0.scheme}://{0.netloc}".format(urlparse(page.url))
    xsrf = {c["name"]: c["value"] for c in page.context.cookies(page.url)}.get("_xsrf", "")
    response = page.context.request.get(origin + base + path, headers={"X-XSRFToken": xsrf})
    assert response.status == 200, f"{path}: {response.status} {response.text()[:300]}"
    return json.loads(response.text())


def _defaults(plugin: dict) -> dict:
    return {name: spec.get("default") for name, spec in plugin["schema"]["properties"].items()}


def _server_process(name: str) -> psutil.Process:
    for proc in psutil.process_iter(["cmdline"]):
        try:
            if "backstage.singleuser" in " ".join(proc.info["cmdline"] or []) \
                    and proc.environ().get("JUPYTERHUB_USER") == name:
                return proc
        except (psutil.NoSuchProcess, psutil.AccessDenied, psutil.ZombieProcess):
            continue
    raise AssertionError(f"no server process of {name!r} (python -m backstage.singleuser) is running")


def _remote_hosts(proc: psutil.Process) -> set[str]:
    hosts = set()
    for conn in proc.net_connections(kind="inet"):
        if conn.raddr:
            hosts.add(conn.raddr.ip)
    return hosts


def _sign_in_to_jupyterlab(page, lab, person):
    """Sign in on the hub's form, which starts their server and lands in it; wait for JupyterLab.

    (How a person gets here from the front page is the participant journeys' business.)"""
    page.goto(f"{lab.url}/hub/spawn")
    page.wait_for_url("**/hub/login**")
    fill_sign_in_form(page, person["name"], person["password"])
    page.locator(".jp-DirListing-content").wait_for(timeout=180_000)


def test_jupyterlab_asks_nothing_of_the_internet_and_links_the_gallery(lab, new_context):
    ada = people(lab, ada="participants")["ada"]
    context = new_context()
    page = context.pages[0]
    _sign_in_to_jupyterlab(page, lab, ada)

    server = _server_process(ada["name"])
    remote = set()
    deadline = time.monotonic() + 5  # the lab's first seconds, when JupyterLab asks for news and updates
    while time.monotonic() < deadline:
        remote |= _remote_hosts(server)
        time.sleep(0.1)
    assert all(ipaddress.ip_address(ip).is_loopback for ip in remote), f"the server connected to {remote}"
    waited = server.cpu_times()
    assert waited.children_user + waited.children_system < 0.05, (
        f"the server ran subprocesses at start ({waited.children_user + waited.children_system:.2f} s of CPU): "
        "JupyterLab's build or registry checks (node yarn.js config) are back")

    config = page.evaluate(PAGE_CONFIG)
    assert config["news"] == {"disabled": True}  # JupyterLab's front end then never asks for news
    assert config["extensionManager"]["can_install"] is False, config["extensionManager"]
    # the lab's overrides are the settings' defaults (a person's own settings could only say "never" again)
    notification = _defaults(_server_api(page, "lab/api/settings/@jupyterlab/apputils-extension:notification"))
    assert notification["fetchNews"] == "false" and notification["checkForUpdates"] is False
    manager = _defaults(_server_api(page, "lab/api/settings/@jupyterlab/extensionmanager-extension:plugin"))
    assert manager["enabled"] is False
    assert not page.get_by_text(re.compile("official Jupyter news", re.I)).count()

    # the gallery, from JupyterLab's own menu bar
    page.get_by_role("menuitem", name="Backstage").click()
    with context.expect_page() as opened:
        page.get_by_role("menuitem", name="Dashboard gallery").click()
    gallery = opened.value
    gallery.get_by_role("heading", name="Dashboards made with UK open data").wait_for(timeout=60_000)
    assert gallery.url.startswith(lab.service_url("gallery")), gallery.url

    # the hub's navigation (the lab's one layout) names them as people know them
    hub = context.new_page()
    hub.goto(f"{lab.url}/hub/home")
    for name, service in (("Gallery", "gallery"), ("Share", "share")):
        link = hub.get_by_role("navigation", name="Menu").get_by_role("link", name=name, exact=True)
        link.wait_for()
        href = link.get_attribute("href")
        # on the service's own origin (the gallery's link passes its sign-in page, which then shows its home)
        assert href.startswith(lab.service_url(service)), href
    assert not hub.get_by_role("link", name="gallery", exact=True).count()
