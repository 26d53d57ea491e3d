"""The launcher's state folder and admin password (no hub started)."""

from __future__ import annotations

import stat

from backstage.auth.store import SignupStore
from backstage.launcher import _banner, prepare_state
from backstage.net import free_port


def mode(path):
    return stat.S_IMODE(path.stat().st_mode)


def test_state_folder_is_private_and_the_generated_password_is_kept(tmp_path):
    state = tmp_path / "state"
    generated = prepare_state(state, "admin", isolated=False, password=None)
    assert generated and len(generated) >= 16
    assert mode(state) == 0o700 and mode(state / "homes") == 0o700
    assert mode(state / "admin-password") == 0o600 and mode(state / "signups.sqlite") == 0o600
    assert (state / "admin-password").read_text().strip() == generated
    assert SignupStore(state / "signups.sqlite").check("admin", generated).approved
    # a second start keeps it and prints nothing new
    assert prepare_state(state, "admin", isolated=False, password=None) is None
    assert SignupStore(state / "signups.sqlite").check("admin", generated)


def test_isolated_lab_lets_people_traverse_to_their_homes_only(tmp_path):
    state = tmp_path / "state"
    prepare_state(state, "admin", isolated=True, password="given-password")
    assert mode(state) == 0o711 and mode(state / "homes") == 0o711
    assert not (state / "admin-password").exists()


def test_environment_password_wins_and_is_never_written(tmp_path):
    state = tmp_path / "state"
    prepare_state(state, "admin", isolated=False, password="first-password")
    prepare_state(state, "admin", isolated=False, password="second-password")
    store = SignupStore(state / "signups.sqlite")
    assert store.check("admin", "second-password") and not store.check("admin", "first-password")
    assert b"second-password" not in (state / "signups.sqlite").read_bytes()
    # started later without the variable: the password stays, nothing is generated
    assert prepare_state(state, "admin", isolated=False, password=None) is None
    assert store.check("admin", "second-password")


def test_banner_says_one_person_lab_when_not_root(tmp_path):
    text = _banner("http://127.0.0.1:8000", "admin", "abc", tmp_path, isolated=False)
    assert "one-person lab" in text and "abc" in text and "http://127.0.0.1:8000/hub/signup" in text
    assert "one-person" not in _banner("http://x", "admin", None, tmp_path, isolated=True)


def test_free_port_is_free():
    import socket

    port = free_port()
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))


def test_the_banner_waits_until_the_site_answers_through_the_proxy_not_for_a_bare_404():
    import threading
    from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

    from backstage.launcher import wait_until_answering

    answers = [404, 404, 502, 200]
    seen = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            code = answers[min(len(seen), len(answers) - 1)]
            seen.append(code)
            self.send_response(code)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/hub/login"
        assert wait_until_answering(url, lambda: True, lambda: False, interval=0.01) is True
        assert seen == [404, 404, 502, 200]
    finally:
        server.shutdown()


def test_waiting_for_the_site_ends_when_the_hub_exits_or_ctrl_c_comes():
    from backstage.launcher import wait_until_answering

    url = f"http://127.0.0.1:{free_port()}/hub/login"  # nothing listens: connection refused
    checks = iter([True, True, False])
    assert wait_until_answering(url, lambda: next(checks), lambda: False, interval=0.01) is False
    assert wait_until_answering(url, lambda: True, lambda: True, interval=0.01) is False
