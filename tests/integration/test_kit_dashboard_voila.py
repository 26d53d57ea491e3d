"""Starter notebook 06 renders as a Voilà dashboard: its Markdown and widgets, no code, no errors."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from backstage_testing.lab import free_port

pytestmark = pytest.mark.integration


def test_the_dashboard_notebook_renders_in_standalone_voila(repo, shared_datasets, tmp_path):
    notebook = tmp_path / "dashboard.ipynb"
    shutil.copy(repo / "notebooks/06-build-a-dashboard.ipynb", notebook)
    port = free_port()
    env = {**os.environ, "GOVDATA_MIRROR": str(shared_datasets), "GOVDATA_CACHE": str(tmp_path / "cache")}
    voila = Path(sys.executable).with_name("voila")
    proc = subprocess.Popen(
        [str(voila), str(notebook), "--no-browser", f"--port={port}", "--Voila.ip=127.0.0.1"],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, start_new_session=True,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                page = requests.get(f"http://127.0.0.1:{port}/", timeout=120)
                break
            except requests.ConnectionError:
                assert proc.poll() is None and time.monotonic() < deadline, "voila did not start"
                time.sleep(0.5)
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        try:  # the kernel Voilà started, should it outlive Voilà
            os.killpg(proc.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
    assert page.status_code == 200, page.text[:500]
    html = page.text
    assert "Explore the ONS subnational indicators" in html
    assert "Submit it to the gallery" in html
    assert html.count("application/vnd.jupyter.widget-view+json") >= 1
    assert "355 councils coloured" in html
    assert "Traceback" not in html and "output_error" not in html
    assert "govdata.join_by_code" not in html  # Voilà shows outputs, never the code
