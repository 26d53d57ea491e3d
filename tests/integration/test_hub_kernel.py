"""A participant's own server: spawn, run `5 * 4` over the kernel websocket, starter notebooks, govdata."""

from __future__ import annotations

import ast

import pytest
import requests
from backstage.hubconfig import REPO

pytestmark = pytest.mark.integration


def test_participant_runs_code_over_the_kernel_websocket(lab, servers):
    out = lab.execute("hubana", "5 * 4")
    assert out == {"result": "20", "stdout": "", "error": None}


def test_govdata_imports_and_starter_notebooks_are_in_the_home(lab, servers):
    out = lab.execute("hubana", "import govdata, os; print(os.path.expanduser('~')); sorted(os.listdir('notebooks'))")
    assert out["error"] is None, out
    expected = sorted(p.name for p in (REPO / "notebooks").iterdir() if not p.name.startswith("."))
    assert ast.literal_eval(out["result"]) == expected
    assert out["stdout"].strip() == str(lab.state_dir / "homes" / f"{lab.settings['user_prefix']}hubana")


def test_collaboration_is_on(servers, tokens):
    """jupyter-collaboration's room API answers on the participant's server."""
    r = requests.get(f"{servers['hubana']}/api/collaboration/session/notebooks%2F01-welcome.ipynb",
                     headers={"Authorization": f"token {tokens['hubana']}"}, timeout=30)
    # the route exists (405: GET not allowed, PUT opens a room); without the extension it is 404
    assert r.status_code in (200, 405), r.status_code
    r = requests.put(f"{servers['hubana']}/api/collaboration/session/notebooks%2F01-welcome.ipynb",
                     json={"format": "json", "type": "notebook"},
                     headers={"Authorization": f"token {tokens['hubana']}"}, timeout=30)
    assert r.status_code in (200, 201), r.text
    assert r.json().get("sessionId")
