"""A real OpenID provider on loopback for the tests (``tests/oidc_provider/provider.mjs``, npm ``oidc-provider``
configured like GOV.UK One Login), and a lab that signs people in with it.

>>> with oidc_lab(tmp_path) as (lab, provider):            # doctest: +SKIP
...     session, callback = sign_in_at_provider(lab, provider, "ada@example.org")
...     session.get(callback)                              # signed in as "ada"
"""

from __future__ import annotations

import json
import os
import random
import socket
import subprocess
import time
from contextlib import contextmanager
from pathlib import Path

import requests
from backstage.auth.oidc.tokens import load_private_key, public_jwk
from backstage.net import free_port
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from backstage_testing.lab import running_lab

__all__ = ["CLIENT_ID", "TestProvider", "make_site_key", "oidc_lab", "sign_in_at_provider"]

REPO = Path(__file__).resolve().parents[2]
SCRIPT = REPO / "tests" / "oidc_provider" / "provider.mjs"
CLIENT_ID = "backstage-test-client"


def make_site_key(path: Path) -> dict:
    """Write a fresh RSA private key (PEM, 0600) at ``path``; return its public JWK (what the provider registers)."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(pem)
    return public_jwk(load_private_key(path))


class TestProvider:
    """``node provider.mjs`` on ``port`` of 127.0.0.1; :meth:`start` once the lab's callback is known."""

    __test__ = False  # not a pytest class

    def __init__(self, port: int, workdir: Path):
        self.port, self.workdir = port, Path(workdir)
        self.issuer = f"http://127.0.0.1:{port}"
        self.process: subprocess.Popen | None = None

    def start(self, redirect_uri: str, post_logout_uri: str, client_jwk: dict, timeout: float = 30) -> None:
        self._started_with = (redirect_uri, post_logout_uri, client_jwk)
        config = {"port": self.port, "client_id": CLIENT_ID, "redirect_uris": [redirect_uri],
                  "post_logout_redirect_uris": [post_logout_uri], "client_jwks": {"keys": [client_jwk]}}
        config_path = self.workdir / "oidc-provider.json"
        config_path.write_text(json.dumps(config))
        log = open(self.workdir / "oidc-provider.log", "ab")  # noqa: SIM115 (closed with the process)
        self.process = subprocess.Popen(["node", str(SCRIPT), str(config_path)], cwd=REPO, stdout=subprocess.PIPE,
                                        stderr=log, stdin=subprocess.DEVNULL, start_new_session=True)
        self._log = log
        line = self.process.stdout.readline().decode()
        if not line.strip():
            self.stop()
            raise RuntimeError(f"the test OpenID provider did not start: {(self.workdir / 'oidc-provider.log').read_text()[-2000:]}")
        assert json.loads(line)["issuer"] == self.issuer
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                if requests.get(self.issuer + "/.well-known/openid-configuration", timeout=5).ok:
                    return
            except requests.ConnectionError:
                time.sleep(0.2)
        raise RuntimeError(f"the test OpenID provider at {self.issuer} did not answer within {timeout} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        if self.process is not None:
            self.process.stdout.close()
            self._log.close()

    def restart(self) -> None:
        """Start again after :meth:`stop` (new signing keys, no accounts: like a provider that rotated its keys)."""
        self.start(*self._started_with)

    # -- test-only switches of the provider script ---------------------------------------------------
    def next_id_token(self, **changes) -> None:
        """The next ID token carries ``changes`` (iss, aud, exp_in, nonce, vot, omit_vot)."""
        requests.post(f"{self.issuer}/__test/next-id-token", json=changes, timeout=10).raise_for_status()

    def rename(self, old_email: str, new_email: str) -> None:
        """The account with ``old_email`` now has ``new_email`` (same ``sub``)."""
        requests.post(f"{self.issuer}/__test/rename", json={"from": old_email, "to": new_email},
                      timeout=10).raise_for_status()

    def seen(self) -> dict:
        return requests.get(f"{self.issuer}/__test/seen", timeout=10).json()


def _port_outside_ephemeral_range() -> int:
    """A free port below Linux's ephemeral range (32768-60999): the provider starts only after the lab, whose
    kernels and servers bind ephemeral ports meanwhile, so a port from ``free_port()`` could be taken by then
    (EADDRINUSE, seen in CI)."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            return port
    return free_port()


@contextmanager
def oidc_lab(state_dir: Path, **auth):
    """A lab in ``auth: {mode: oidc}`` (extra ``auth`` keys, e.g. ``new_people="approval"``) and its provider."""
    state_dir = Path(state_dir).resolve()
    state_dir.mkdir(parents=True, exist_ok=True)
    jwk = make_site_key(state_dir / "oidc-private.pem")
    provider = TestProvider(_port_outside_ephemeral_range(), state_dir)
    settings = {"mode": "oidc", "issuer": provider.issuer, "client_id": CLIENT_ID, "private_key": "oidc-private.pem",
                **auth}
    try:
        with running_lab(state_dir, auth=settings, idle_timeout=0, gallery=False) as lab:
            provider.start(f"{lab.url}/hub/oauth_callback", f"{lab.url}/hub/login", jwk)
            yield lab, provider
    finally:
        provider.stop()


def sign_in_at_provider(lab, provider: TestProvider, email: str, session: requests.Session | None = None,
                        cancel: bool = False) -> tuple[requests.Session, str]:
    """Start a sign-in at the lab, sign in (or cancel) at the provider; return the session and the callback URL.

    The callback URL (the lab's ``/hub/oauth_callback?code=...&state=...``) is not opened, so a test can
    change the world first (stop the provider, replay it, ...).
    """
    session = session or requests.Session()
    r = session.get(f"{lab.url}/hub/oauth_login", allow_redirects=False, timeout=30)
    assert r.status_code == 302, f"oauth_login answered {r.status_code}: {r.text[:500]}"
    url = r.headers["Location"]
    assert url.startswith(provider.issuer), url
    r = session.get(url, allow_redirects=True, timeout=30)
    assert "/interaction/" in r.url, f"the provider did not ask who you are: {r.status_code} {r.text[:500]}"
    action = "abort" if cancel else "login"
    r = session.post(f"{r.url}/{action}", data={"email": email}, allow_redirects=False, timeout=30)
    while r.status_code in (302, 303) and r.headers["Location"].startswith(provider.issuer):
        r = session.get(r.headers["Location"], allow_redirects=False, timeout=30)
    assert r.status_code in (302, 303), f"the provider answered {r.status_code}: {r.text[:500]}"
    callback = r.headers["Location"]
    assert callback.startswith(f"{lab.url}/hub/oauth_callback"), callback
    return session, callback
