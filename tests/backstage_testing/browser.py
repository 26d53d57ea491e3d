"""Helpers for the browser tests (a module of its own: ``from conftest import`` finds whichever
conftest.py is first on sys.path, which depends on the test paths given to pytest)."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

AXE = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"


def is_loopback(url: str) -> bool:
    """True for the lab's own addresses: loopback, ``localhost`` and its ``<name>.localhost`` origins."""
    host = urlparse(url).hostname or ""
    return (not url.startswith(("http:", "https:", "ws:", "wss:")) or host in ("127.0.0.1", "localhost", "::1")
            or host.endswith(".localhost"))


def sign_in(page, lab, name: str, password: str, next_url: str | None = None):
    """Open ``next_url`` (default: the gallery), sign in on the hub's real login form it leads to, and
    land back on ``next_url`` (each server and service has an origin of its own: no ``?next=`` path)."""
    target = next_url or lab.service_url("gallery")
    page.goto(target if next_url else target + "sign-in")  # the gallery's own page is open to anyone
    page.wait_for_url("**/hub/login**")
    page.fill("#username_input", name)
    page.fill("#password_input", password)
    page.click("#login_submit")
    page.wait_for_url(lambda url: url.startswith(target))


def axe_violations(page, impacts=("serious", "critical")) -> list[dict]:
    """Run axe-core (from node_modules) in *page*; return the violations of the given impacts."""
    if not AXE.exists():
        pytest.fail(f"axe-core is missing at {AXE}: run 'npm ci' (make install does)")
    page.evaluate(AXE.read_text())
    result = page.evaluate("async () => await axe.run(document, {resultTypes: ['violations']})")
    return [{"id": v["id"], "impact": v["impact"], "nodes": [n["target"] for n in v["nodes"]][:5]}
            for v in result["violations"] if v["impact"] in impacts]


def fill_sign_in_form(page, name: str, password: str) -> None:
    """On the hub's sign-in page (already open), fill the form by its labels and press "Sign in"."""
    page.get_by_label("Username").fill(name)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()


def open_hub_home_signed_in(page, lab, name: str, password: str) -> None:
    """Open the hub's home page (the hub asks to sign in first), sign in by the form, land on it."""
    page.goto(f"{lab.url}/hub/home")
    page.wait_for_url("**/hub/login**")
    fill_sign_in_form(page, name, password)
    page.wait_for_url(f"{lab.url}/hub/home*")


def wait_for_kernel_idle(panel, timeout: float = 120_000) -> None:
    """Wait until the notebook's kernel indicator (the toolbar's circle) says idle, as a person waits for it before
    running cells: JupyterLab drops a run asked for before the notebook's kernel session is attached (it clears the
    cells and runs nothing), which a lab that opens in a second made likely."""
    panel.locator(".jp-Notebook-ExecutionIndicator[data-status='idle']").wait_for(timeout=timeout)
