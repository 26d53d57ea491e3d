"""The participant's journey, second half, in Chromium, through the pages only (issue 10).

Signed in, a participant picks a notebook of their own server on the gallery's Submit page and submits it;
then, in JupyterLab, types a cell that calls ``backstage.gallery.client.submit`` (the server's own token: no
personal token anywhere) to submit another; both are under My submissions.
"""

import re

import pytest
from backstage_testing.browser import wait_for_kernel_idle
from backstage_testing.journeys import nav, open_gallery_signed_in, people, row_of

pytestmark = [pytest.mark.browser, pytest.mark.integration]


def _start_lab_in_a_new_tab(page):
    """From the gallery, "My lab" (opened in a new tab) leads to the hub's home: start the server there."""
    with page.context.expect_page() as opened:
        page.get_by_role("navigation", name="Menu").get_by_role("link", name="My lab").click(modifiers=["Control"])
    lab_tab = opened.value
    lab_tab.get_by_role("button", name=re.compile("My Server")).first.click()
    lab_tab.locator(".jp-DirListing").first.wait_for(timeout=180_000)
    return lab_tab


def _open_in_jupyterlab(lab_tab, name: str):
    """Double-click *name* in JupyterLab's file browser (inside the starter folder if it is not at the top)."""
    listing = lab_tab.locator(".jp-DirListing-content")
    listing.locator(".jp-DirListing-item").first.wait_for()
    item = listing.get_by_text(name, exact=True)
    if not item.count():
        listing.get_by_text("notebooks", exact=True).dblclick()
    item.dblclick()
    lab_tab.locator(".jp-NotebookPanel:visible .jp-Cell").last.wait_for(timeout=60_000)
    wait_for_kernel_idle(lab_tab.locator(".jp-NotebookPanel:visible"))


def test_a_participant_submits_from_the_submit_page_and_from_a_notebook_cell(lab, new_context):
    ada = people(lab, ada="participants")["ada"]
    suffix = ada["name"][-4:]
    from_page, from_cell = f"Welcome from the page {suffix}", f"Dashboard from a cell {suffix}"
    page = new_context().pages[0]
    open_gallery_signed_in(page, lab, ada)
    lab_tab = _start_lab_in_a_new_tab(page)

    # 1. the Submit page lists the notebooks of their server: pick one and submit it
    nav(page, "Submit a notebook")
    picker = page.get_by_label("Notebook on your server")
    picker.select_option(picker.locator("option", has_text="01-welcome.ipynb").get_attribute("value"))
    page.get_by_label("Title").fill(from_page)
    page.get_by_label("Summary").fill("The welcome notebook, submitted from the Submit page")
    page.get_by_label("Topics").fill("welcome, journey")
    page.get_by_role("button", name="Submit for review").click()
    page.get_by_role("heading", name=from_page, level=1).wait_for()

    # 2. in JupyterLab, below the last cell of starter 06, a typed cell submits it with the server's own token
    _open_in_jupyterlab(lab_tab, "06-build-a-dashboard.ipynb")
    lab_tab.locator(".jp-NotebookPanel:visible .jp-Cell").last.click()
    lab_tab.keyboard.press("Escape")
    lab_tab.keyboard.press("b")  # a new cell below
    cell = lab_tab.locator(".jp-NotebookPanel:visible .jp-Cell.jp-mod-active .cm-content")
    cell.click()
    cell.fill('from backstage.gallery.client import submit; '
              f'submit("06-build-a-dashboard.ipynb", "{from_cell}", "Submitted from a notebook cell")')
    lab_tab.keyboard.press("Shift+Enter")
    lab_tab.get_by_text("'status': 'checking'").wait_for(timeout=120_000)

    # 3. back in the gallery's tab, both are under My submissions
    nav(page, "My submissions")
    for title in (from_page, from_cell):
        row_of(page, title).wait_for()
    row_of(page, from_cell).get_by_role("link", name=from_cell).click()
    page.get_by_role("heading", name=from_cell, level=1).wait_for()
