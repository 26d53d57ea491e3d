"""What one live dashboard kernel costs on this machine: the figures behind ``Dashboards.live_per_dashboard`` and
``Dashboards.live_total`` (hub/backstage/gallery/live.py).

A real lab (default settings: rendered mode, ``Dashboards.kernel_nice`` 10); two dashboards published by an author
and approved by a reviewer: a slider (``backstage_testing.journeys.WIDGET``) and the map dashboard of
``notebooks/06-build-a-dashboard.ipynb``. For each, a page goes live through the live endpoint (as the front end
does), then its control changes every ``interval`` seconds for ``seconds`` seconds over the kernel's websocket (a
widget ``update``, as a viewer's slider or picker sends), while the kernel process is sampled with psutil.
Prints, per dashboard: changes sent, the kernel's CPU as a share of one core, RSS and USS (MB) before and at the
end (peak RSS), and its niceness.

Run (as root, like the tests)::

    GOVDATA_MIRROR=../shared/datasets .venv/bin/python benchmarks/live_kernel_cost.py
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from pathlib import Path
from urllib.parse import urljoin

import requests
import websocket
from backstage_testing.dashboards import _voila_kernels, gallery_lab, gallery_process, publish_dashboard
from backstage_testing.journeys import dashboard_notebook
from jupyter_server.services.kernels.connection.base import deserialize_binary_message

REPO = Path(__file__).resolve().parent.parent


def _message(msg_type: str, content: dict, metadata: dict | None = None) -> str:
    return json.dumps({"header": {"msg_id": uuid.uuid4().hex, "msg_type": msg_type, "username": "", "session": "s",
                                  "version": "5.3", "date": "2026-01-01T00:00:00Z"},
                       "parent_header": {}, "metadata": metadata or {}, "channel": "shell", "content": content})


def _states(ws) -> dict:
    control = uuid.uuid4().hex
    ws.send(_message("comm_open", {"comm_id": control, "target_name": "jupyter.widget.control", "data": {}},
                     {"version": "1.0.0"}))
    ws.send(_message("comm_msg", {"comm_id": control, "data": {"method": "request_states"}}))
    while True:
        frame = ws.recv()
        msg = deserialize_binary_message(frame) if isinstance(frame, bytes) else json.loads(frame)
        data = msg.get("content", {}).get("data") or {}
        if data.get("method") == "update_states":
            return data["states"]


def _rendered_page(url: str, token: str, timeout: float = 300) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = requests.get(url, headers={"Authorization": f"token {token}"}, timeout=120)
        if r.status_code == 200 and '"kernelId":null' in r.text:
            return r.text
        time.sleep(1)
    raise TimeoutError(f"{url} was not rendered within {timeout:.0f} s")


def measure(lab, url: str, token: str, model_name: str, key: str, values: list, *, seconds: float = 30,
            interval: float = 0.5) -> dict:
    page = _rendered_page(url, token)
    config = json.loads(re.search(r'<script id="jupyter-config-data" type="application/json">(.*?)</script>', page,
                                  re.DOTALL).group(1))
    live = requests.post(urljoin(lab.service_url("gallery"), config["live"]["url"]), timeout=120,
                         json={"ticket": config["live"]["ticket"]}, headers={"Origin": "null"})
    live.raise_for_status()
    kernel_id = live.json()["kernelId"]
    proc = _voila_kernels(gallery_process(lab.lab_id))[kernel_id]
    ws = websocket.create_connection(lab.service_url("gallery").replace("http://", "ws://", 1)
                                     + f"dashboards/api/kernels/{kernel_id}/channels?session_id={uuid.uuid4()}")
    model = next(mid for mid, m in _states(ws).items() if m["model_name"] == model_name)
    done = threading.Event()

    def drain():  # read the kernel's answers as a page does
        while not done.is_set():
            try:
                ws.recv()
            except Exception:  # noqa: BLE001 (the socket closed: stop reading)
                return

    threading.Thread(target=drain, daemon=True).start()
    before, cpu0 = proc.memory_full_info(), proc.cpu_times()
    start, sent, peak = time.monotonic(), 0, 0
    while time.monotonic() - start < seconds:
        ws.send(_message("comm_msg", {"comm_id": model, "data": {
            "method": "update", "state": {key: values[sent % len(values)]}, "buffer_paths": []}}))
        sent += 1
        peak = max(peak, proc.memory_info().rss)
        time.sleep(interval)
    elapsed = time.monotonic() - start
    cpu1, after, nice = proc.cpu_times(), proc.memory_full_info(), proc.nice()
    done.set()
    ws.close()
    requests.post(f"{lab.service_url('gallery')}dashboards/voila/api/shutdown/{kernel_id}", timeout=30)
    mb = 1 << 20
    return {"changes": sent, "seconds": round(elapsed, 1),
            "cpu_share_of_one_core": round((cpu1.user + cpu1.system - cpu0.user - cpu0.system) / elapsed, 3),
            "rss_before_mb": round(before.rss / mb), "uss_before_mb": round(before.uss / mb),
            "rss_peak_mb": round(peak / mb), "uss_end_mb": round(after.uss / mb), "nice": nice}


def main() -> None:
    with gallery_lab({}, prefix="k") as lab:
        names = {"author": "costauthor", "reviewer": "costreviewer", "official": "costofficial"}
        for role, group in (("author", "participants"), ("reviewer", "reviewers"), ("official", "officials")):
            lab.create_user(names[role], groups=(group,))
        tokens = {role: lab.token_for(name) for role, name in names.items()}
        slider = publish_dashboard(lab, dashboard_notebook(tutorial=False), tokens["author"], tokens["reviewer"],
                                   title="Slider")
        mapped = publish_dashboard(lab, REPO / "notebooks" / "06-build-a-dashboard.ipynb", tokens["author"],
                                   tokens["reviewer"], title="Map")
        figures = measure(lab, slider, tokens["official"], "IntSliderModel", "value", list(range(21)))
        print("slider:", figures, flush=True)  # noqa: T201 (a benchmark's output)
        figures = measure(lab, mapped, tokens["official"], "DropdownModel", "index", [0, 1, 2, 3], interval=1.0)
        print("map:", figures, flush=True)  # noqa: T201


if __name__ == "__main__":
    main()
