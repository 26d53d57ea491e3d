"""Steps the journey tests share: people, notebooks, signing in through the pages, waiting for the checks."""

from __future__ import annotations

import json
import re
import time
import uuid

import nbformat
import requests

v4 = nbformat.v4

WIDGET = (
    "import ipywidgets as w\n"
    "s = w.IntSlider(value=3, min=0, max=20, description='n')\n"
    "out = w.Label()\n"
    "def f(change=None):\n    out.value = f'squared: {s.value ** 2}'\n"
    "s.observe(f, 'value'); f()\n"
    "w.VBox([s, out])"
)
TUTORIAL = "How to build a dashboard: first load the data, then add a slider (for the author only)."


def people(lab, **roles: str) -> dict:
    """Accounts in the given groups, e.g. ``people(lab, author="participants")``: name, password, API token."""
    suffix = uuid.uuid4().hex[:4]
    out = {}
    for role, group in roles.items():
        name = f"j{role[:5]}{suffix}"
        session = lab.create_user(name, groups=(group,))
        out[role] = {"name": name, "password": session.password, "token": lab.token_for(name)}
    return out


def dashboard_notebook(*extra_code: str, tutorial: bool = True) -> dict:
    """A widget dashboard with a tutorial cell tagged ``author-only`` (and any *extra_code* cells, untagged)."""
    cells = [v4.new_markdown_cell("# Squares"), v4.new_code_cell(WIDGET)]
    if tutorial:
        cells.insert(1, v4.new_markdown_cell(TUTORIAL, metadata={"tags": ["author-only"]}))
    cells += [v4.new_code_cell(code) for code in extra_code]
    return json.loads(nbformat.writes(v4.new_notebook(cells=cells)))


def submit_by_api(lab, token: str, title: str, notebook: dict) -> str:
    """Set-up for journeys that start later (the participant's journey submits through the pages)."""
    r = requests.post(f"{lab.service_url('gallery')}api/submissions", headers={"Authorization": f"token {token}"},
                      json={"title": title, "summary": f"{title}, for the journey", "topics": ["journey"],
                            "notebook": notebook}, timeout=60)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def wait_checked(lab, token: str, submission_id: str, timeout: float = 300) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        item = requests.get(f"{lab.service_url('gallery')}api/submissions/{submission_id}",
                            headers={"Authorization": f"token {token}"}, timeout=30).json()
        if item["status"] != "checking":
            return item
        time.sleep(1)
    raise AssertionError(f"the checks of {submission_id} did not finish within {timeout} s")


def approve_by_api(lab, token: str, submission_id: str) -> dict:
    r = requests.post(f"{lab.service_url('gallery')}api/submissions/{submission_id}/approve",
                      headers={"Authorization": f"token {token}"}, json={}, timeout=120)
    assert r.status_code == 200, r.text
    return r.json()


def open_gallery_signed_in(page, lab, person: dict) -> None:
    """Follow the gallery's "Sign in" link to the hub's sign-in form (the gallery itself shows anyone its public
    dashboards), sign in by the form's labels, land on the gallery."""
    gallery = lab.service_url("gallery")
    page.goto(gallery)
    page.get_by_role("link", name="Sign in to see more").click()
    page.get_by_label(re.compile(r"^Username:?$")).fill(person["name"])
    page.get_by_label(re.compile(r"^Password:?$")).fill(person["password"])
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(lambda url: url.startswith(gallery))
    page.get_by_role("heading", name="Dashboards made with UK open data").wait_for()


def nav(page, name: str) -> None:
    """Click a link of the gallery's service navigation."""
    page.get_by_role("navigation", name="Menu").get_by_role("link", name=name).click()


def row_of(page, title: str):
    """The table row of a submission (My submissions, Review queue)."""
    return page.get_by_role("row").filter(has=page.get_by_role("link", name=re.compile(re.escape(title))))
