"""``backstage up`` starts and stops cleanly: the banner once the site answers, a quiet stop (its log read after).

A lab of its own (the session's lab is shared), with the gallery and a person's server running
with a kernel, as at the end of a hack day: then SIGTERM, as Ctrl-C does. ``running_lab`` itself
asserts that the stop took at most 10 s and left no process of the lab.
"""

from __future__ import annotations

import secrets
import shutil
import tempfile
import time
from pathlib import Path

import pytest
from backstage.launcher import ANSWER_PATH
from backstage_testing.lab import delete_unix_users, running_lab

pytestmark = pytest.mark.integration

BANNER = "Government Backstage is running at "
HUB_READY = "JupyterHub is now running at"
VOILA_UP = "Voilà is running at"
NOISE = (
    "Traceback",  # e.g. RuntimeError: WebsocketServer not running, from jupyter-collaboration
    "WebsocketServer not running",
    "Task exception was never retrieved",
    "Proxy stopped with exit code",  # the hub's proxy check restarting the proxy mid-shutdown
    "exited with status",  # the hub restarting a service mid-shutdown
    "killing it",
    "processes the hub left behind",
)


def test_banner_after_the_site_answers_and_a_stop_with_a_server_and_kernel_running_is_quiet():
    state = Path(tempfile.mkdtemp(prefix="backstage-startstop-"))
    prefix = f"s{secrets.token_hex(2)}-"
    try:
        with running_lab(state, user_prefix=prefix, idle_timeout=0) as lab:
            ada = lab.create_user("stopada", groups=("participants",))
            lab.spawn(ada)
            assert lab.execute("stopada", "6 * 7")["result"] == "42"
            # a lab in use: the gallery's Voilà has started (stopped while still starting, the gallery
            # takes longer to stop: that is the gallery's own matter, not what this test is about)
            deadline = time.monotonic() + 120
            while VOILA_UP not in lab.log_text() and time.monotonic() < deadline:
                time.sleep(0.5)
        log = lab.log_text()
    finally:
        delete_unix_users(prefix)
        shutil.rmtree(state, ignore_errors=True)

    before_stop, _, after_stop = log.partition("Stopping the lab")
    assert after_stop, f"the launcher never said it was stopping:\n{log[-2000:]}"
    # the banner waits for the sign-in page through the proxy, so it comes after the hub is up
    assert HUB_READY in before_stop and BANNER in before_stop, before_stop[-3000:]
    assert before_stop.index(HUB_READY) < before_stop.index(BANNER), (
        f"the banner came before the hub answered at {ANSWER_PATH}")
    assert before_stop.count(BANNER) == 1
    # and waiting for it did not fill the log with the proxy's 404s (it waits for the hub's own word)
    assert "404 GET /hub/login" not in before_stop
    noise = [line for line in after_stop.splitlines() if any(word in line for word in NOISE)]
    assert not noise, "the stop was noisy:\n" + "\n".join(noise) + "\n--- the stop's log:\n" + after_stop[-4000:]
