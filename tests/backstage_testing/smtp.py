"""A real SMTP server on loopback (aiosmtpd) that keeps what it receives, for e-mail tests::

    with smtp_server() as mail:
        ... # the lab sends to 127.0.0.1:mail.port
        messages = mail.wait_for(lambda m: m["To"] == "ada@example.org", timeout=30)
"""

from __future__ import annotations

import email
import email.policy
import threading
import time
from contextlib import contextmanager

from backstage.net import free_port

__all__ = ["Mailbox", "smtp_server"]


class Mailbox:
    """What the server received: ``messages`` (parsed ``EmailMessage``) and their SMTP envelopes."""

    def __init__(self, port: int):
        self.port = port
        self.messages: list = []
        self.envelopes: list[tuple[str, list[str]]] = []
        self._lock = threading.Lock()

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's hook name)
        message = email.message_from_bytes(envelope.content, policy=email.policy.default)
        with self._lock:
            self.messages.append(message)
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
        return "250 Message accepted for delivery"

    def wait_for(self, match, timeout: float = 30) -> list:
        """The messages for which ``match(message)`` is true, once there is at least one (or AssertionError)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self._lock:
                found = [m for m in self.messages if match(m)]
            if found:
                return found
            time.sleep(0.2)
        raise AssertionError(f"no matching e-mail within {timeout} s; received: "
                             f"{[(m['To'], m['Subject']) for m in self.messages]}")


@contextmanager
def smtp_server():
    """Run aiosmtpd on 127.0.0.1 (a free port) for the duration of the block; yield its `Mailbox`."""
    from aiosmtpd.controller import Controller

    box = Mailbox(free_port())
    controller = Controller(box, hostname="127.0.0.1", port=box.port)
    controller.start()
    try:
        yield box
    finally:
        controller.stop()
