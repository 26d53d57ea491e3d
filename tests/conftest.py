"""Test-wide fixtures (HOME and Jupyter dirs are isolated by the repository's root conftest.py)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"


@pytest.fixture(scope="session")
def repo() -> Path:
    return REPO


@pytest.fixture(scope="session")
def shared_datasets() -> Path:
    """The folder of real UK open data beside the repo; the tests that need it fail loudly without it."""
    folder = Path(os.environ.get("GOVDATA_MIRROR", SHARED / "datasets"))
    if not (folder / "SOURCES.md").exists():
        pytest.fail(f"the shared datasets are missing at {folder}: set GOVDATA_MIRROR to the folder")
    return folder


@pytest.fixture(scope="session")
def lab():
    """One real lab (hub, proxy, services; `backstage up`) for the whole test session.

    State in a fresh /tmp folder, Unix users with a per-session prefix `t<4 hex>-` (deleted at the
    end). API: see tests/backstage_testing/lab.py. `BACKSTAGE_TEST_GALLERY=0` starts it without the gallery service.
    """
    from backstage_testing.lab import own_lab

    gallery = {"0": False, "1": True}.get(os.environ.get("BACKSTAGE_TEST_GALLERY", ""), "auto")
    with own_lab("t", gallery=gallery) as running:
        yield running


def pytest_sessionfinish(session, exitstatus):
    """Remove the Unix accounts of test labs whose temporary state is gone (a lab that was killed, or a module's
    lab whose folder its fixture removed after the lab's own sweep)."""
    if os.geteuid() == 0:
        from backstage_testing.lab import delete_orphan_accounts

        delete_orphan_accounts()


#: how much of a lab's log a failed test's report shows (its end: what the lab did last)
LOG_TAIL_LINES = 150


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    """A failed test that used a lab shows the end of that lab's log (hub, proxy, services, Voilà): the lab's
    temporary state is removed with it, and in CI the report is all that is left to find out why."""
    outcome = yield
    report = outcome.get_result()
    if not report.failed:
        return
    from backstage_testing.lab import Lab

    for name, value in getattr(item, "funcargs", {}).items():
        if isinstance(value, Lab) and value.log_path.exists():
            lines = value.log_text().splitlines()[-LOG_TAIL_LINES:]
            report.sections.append((f"lab log ({name}, last {len(lines)} lines of {value.log_path.name})",
                                    "\n".join(line[:2000] for line in lines)))
