"""Live dashboard kernels on a real lab with small caps (issue 14 item 2): within the caps a page goes live with a
kernel of its own; over them it waits in a FIFO line with its position; a place frees when a page closes or its
kernel has been idle (websocket closed with 4000 "idle"); the dashboards' kernels run at a lower CPU priority."""

import json
import time
import uuid

import psutil
import pytest
import requests
from backstage_testing.dashboards import (
    dashboards_voila,
    gallery_lab,
    gallery_process,
    publish_dashboard,
    voila_kernel_ids,
)
from test_dashboard_rendered import config_of, go_live, wait_rendered
from test_gallery_flow import WIDGET_CODE, _ws, auth, notebook

pytestmark = pytest.mark.integration

CAPS = {"live_per_dashboard": 2, "live_total": 3, "live_idle_timeout": 45, "kernel_nice": 10}


@pytest.fixture(scope="module")
def small_lab():
    """A lab of its own whose gallery has small caps (``$BACKSTAGE_STATE/gallery_config.json``)."""
    with gallery_lab({"Dashboards": CAPS}) as lab:
        yield lab


@pytest.fixture(scope="module")
def site(small_lab):
    lab = small_lab
    names = {"author": "liveauthor", "reviewer": "livereviewer", "official": "liveofficial"}
    groups = {"author": ("participants",), "reviewer": ("reviewers",), "official": ("officials",)}
    for role, name in names.items():
        lab.create_user(name, groups=groups[role])
    tokens = {role: lab.token_for(name) for role, name in names.items()}
    urls = [publish_dashboard(lab, notebook(WIDGET_CODE), tokens["author"], tokens["reviewer"],
                              title=f"Live {name}") for name in ("alpha", "beta")]
    for url in urls:
        wait_rendered(url, auth(tokens["official"]))
    return {"lab": lab, "tokens": tokens, "urls": urls}


def page(site, which: int) -> str:
    r = requests.get(site["urls"][which], headers=auth(site["tokens"]["official"]), timeout=60)
    assert r.status_code == 200 and config_of(r.text)["kernelId"] is None
    return r.text


def close_page(lab, kernel_id: str) -> None:
    """The page's unload beacon."""
    r = requests.post(f"{lab.service_url('gallery')}dashboards/voila/api/shutdown/{kernel_id}",
                      headers={"Origin": "null"}, timeout=30)
    assert r.status_code in (200, 204), r.text


def test_over_the_caps_pages_wait_in_a_fifo_line_and_go_live_as_places_free(site):
    lab = site["lab"]
    a = [page(site, 0) for _ in range(4)]
    b = [page(site, 1) for _ in range(2)]
    first, second = go_live(lab, a[0]), go_live(lab, a[1])
    assert first.status_code == 200 and second.status_code == 200, (first.text, second.text)
    kernels = {first.json()["kernelId"], second.json()["kernelId"]}
    assert len(kernels) == 2 and kernels <= voila_kernel_ids(lab.lab_id)
    # the dashboard's cap (2): the third and fourth wait, in order
    third, fourth = go_live(lab, a[2]), go_live(lab, a[3])
    assert third.status_code == 202 and fourth.status_code == 202, (third.text, fourth.text)
    assert (third.json()["position"], fourth.json()["position"]) == (1, 2)
    assert third.json()["retry_after"] == 2 and third.json()["queue_id"] != fourth.json()["queue_id"]
    # another dashboard is not held up by this one's line; then the lab's cap (3) is reached
    other = go_live(lab, b[0])
    assert other.status_code == 200, other.text
    waiting_b = go_live(lab, b[1])
    assert waiting_b.status_code == 202
    # polling keeps one's place; the page that closes frees its place for the first in line
    fourth = go_live(lab, a[3], queue_id=fourth.json()["queue_id"])
    assert fourth.status_code == 202 and fourth.json()["position"] == 2
    close_page(lab, first.json()["kernelId"])
    fourth = go_live(lab, a[3], queue_id=fourth.json()["queue_id"])  # later in line: still waits
    assert fourth.status_code == 202, fourth.text
    third = go_live(lab, a[2], queue_id=third.json()["queue_id"])
    assert third.status_code == 200, third.text
    assert third.json()["kernelId"] not in kernels and len(third.json()["views"]) == 1
    # the other dashboard's page closing lets the one waiting for it in (its cap was the lab's)
    close_page(lab, other.json()["kernelId"])
    waiting_b = go_live(lab, b[1], queue_id=waiting_b.json()["queue_id"])
    assert waiting_b.status_code == 200, waiting_b.text
    # a page asking again (its ticket) keeps its one place in line, and one who gave up is taken out after 15 s
    # (tests/unit/test_gallery_live_line.py); when a place frees, the first in line goes live
    again = go_live(lab, a[3])
    assert again.status_code == 202 and again.json()["queue_id"] == fourth.json()["queue_id"]
    close_page(lab, second.json()["kernelId"])
    fourth = go_live(lab, a[3], queue_id=fourth.json()["queue_id"])
    assert fourth.status_code == 200, fourth.text
    for response in (third, fourth, waiting_b):
        close_page(lab, response.json()["kernelId"])


def _close_frame(ws, timeout: float) -> tuple[int | None, str]:
    import websocket

    ws.settimeout(timeout)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            opcode, data = ws.recv_data()
        except (websocket.WebSocketTimeoutException, websocket.WebSocketConnectionClosedException):
            return None, ""
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            return int.from_bytes(data[:2], "big"), data[2:].decode()
    return None, ""


def _comm_msg() -> str:
    return json.dumps({"header": {"msg_id": uuid.uuid4().hex, "msg_type": "comm_msg", "username": "", "session": "s",
                                  "version": "5.3", "date": "2026-01-01T00:00:00Z"},
                       "parent_header": {}, "metadata": {}, "channel": "shell",
                       "content": {"comm_id": uuid.uuid4().hex, "data": {"method": "custom", "content": {}}}})


def test_an_idle_live_kernel_is_returned_with_4000_idle_and_a_busy_one_is_kept(site):
    lab = site["lab"]
    idle, busy = go_live(lab, page(site, 0)), go_live(lab, page(site, 0))
    assert idle.status_code == 200 and busy.status_code == 200, (idle.text, busy.text)
    idle_ws, busy_ws = _ws(lab, idle.json()["kernelId"]), _ws(lab, busy.json()["kernelId"])
    deadline = time.monotonic() + CAPS["live_idle_timeout"] + 8
    while time.monotonic() < deadline:  # the busy page sends a widget message every 2 s
        busy_ws.send(_comm_msg())
        time.sleep(2)
    code, reason = _close_frame(idle_ws, 10)
    assert (code, reason) == (4000, "idle")
    deadline = time.monotonic() + 30
    while idle.json()["kernelId"] in voila_kernel_ids(lab.lab_id) and time.monotonic() < deadline:
        time.sleep(0.5)
    assert idle.json()["kernelId"] not in voila_kernel_ids(lab.lab_id)
    assert busy.json()["kernelId"] in voila_kernel_ids(lab.lab_id) and busy_ws.connected
    # the idle one's place is free again: a third page of this dashboard (cap 2) goes live at once
    again = go_live(lab, page(site, 0))
    assert again.status_code == 200, again.text
    busy_ws.close()
    for response in (busy, again):
        close_page(lab, response.json()["kernelId"])


def test_the_dashboards_voila_and_its_kernels_run_at_a_lower_cpu_priority(site):
    lab = site["lab"]
    gallery = gallery_process(lab.lab_id)
    voila = dashboards_voila(gallery)
    assert voila is not None and voila.nice() == CAPS["kernel_nice"]
    kernels = [p for p in voila.children(recursive=True) if "ipykernel" in " ".join(p.cmdline())]
    assert kernels and all(k.nice() == CAPS["kernel_nice"] for k in kernels)
    assert gallery.nice() == psutil.Process().nice()  # the gallery itself keeps its priority
