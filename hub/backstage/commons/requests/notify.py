"""Telling people what changed: an in-app "Your updates" list, and e-mail when the site has an SMTP server.

The in-app update is written first (durable, in the commons' database); the e-mail follows, one
message per person, addressed to that person alone, so no address is ever shown to anyone else.
Addresses come from the sign-up store (``signups.sqlite``); people without one get the in-app update only.
Site settings: ``notify: {smtp: {host: mail.example.org, port: 587, from: lab@example.org, starttls: true}}``.
"""

from __future__ import annotations

import logging
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import make_msgid
from pathlib import Path

from backstage.auth.store import SignupStore

from .store import RequestStore

log = logging.getLogger(__name__)

__all__ = ["Notifier", "SmtpSettings"]


class SmtpSettings:
    """The site's SMTP server (``notify.smtp`` in the site settings); None fields keep their defaults."""

    def __init__(self, host: str, port: int = 25, sender: str = "", starttls: bool = False, timeout: float = 10):
        if not host:
            raise ValueError("notify.smtp.host is empty: name the SMTP server, e.g. host: mail.example.org")
        if not sender:
            raise ValueError("notify.smtp.from is empty: set the sender address, e.g. from: lab@example.org")
        self.host, self.port, self.sender, self.starttls, self.timeout = host, int(port), sender, starttls, timeout

    @classmethod
    def from_mapping(cls, smtp: dict | None) -> SmtpSettings | None:
        """From the site setting ``notify.smtp`` (``{host, port, from, starttls}``); None when it is empty."""
        if not smtp:
            return None
        return cls(smtp.get("host", ""), smtp.get("port") or 25, smtp.get("from", ""), bool(smtp.get("starttls")))


class Notifier:
    """Writes "Your updates" entries and sends the matching e-mails.

    Parameters
    ----------
    store : RequestStore
        Where the in-app updates live.
    state_dir : str or Path
        The lab's state folder (its ``signups.sqlite`` holds people's e-mail addresses).
    smtp : SmtpSettings or None
        The SMTP server; None sends no e-mail.
    site_url : str
        The lab's public address, for links in e-mails, e.g. ``https://lab.example.org``.
    """

    def __init__(self, store: RequestStore, state_dir, smtp: SmtpSettings | None, site_url: str):
        self.store = store
        self.signups = Path(state_dir) / "signups.sqlite"
        self.smtp = smtp
        self.site_url = site_url.rstrip("/")
        self.sent = 0

    def tell(self, people, *, kind: str, subject: str, text: str, link: str) -> list[tuple[str, str]]:
        """Record an update for each of *people*; return the e-mails to send as ``(address, person)``."""
        people = sorted({p for p in people if p})
        if not people:
            return []
        self.store.add_updates(people, kind, subject, text, link)
        if self.smtp is None:
            return []
        return [(address, person) for person in people if (address := self._address(person))]

    def _address(self, person: str) -> str:
        if not self.signups.exists():
            return ""
        found = SignupStore(self.signups).get(person)
        return found.email if found and "@" in (found.email or "") else ""

    def send(self, recipients: list[tuple[str, str]], *, subject: str, text: str, link: str) -> int:
        """Send one e-mail per recipient (blocking: call it from a thread in a server); return how many went."""
        if not recipients or self.smtp is None:
            return 0
        url = self.site_url + link if link.startswith("/") else link
        sent = 0
        try:
            with smtplib.SMTP(self.smtp.host, self.smtp.port, timeout=self.smtp.timeout) as smtp:
                if self.smtp.starttls:
                    smtp.starttls(context=ssl.create_default_context())
                for address, person in recipients:
                    message = EmailMessage()
                    message["From"] = self.smtp.sender
                    message["To"] = address
                    message["Subject"] = f"[Government Backstage] {subject}"
                    message["Message-ID"] = make_msgid(domain="backstage")
                    message.set_content(
                        f"Hello {person},\n\n{text}\n\nSee it at {url}\n\n"
                        "You get this because you filed, supported or own what changed. "
                        "Your updates are also listed on the lab's 'Your updates' page.\n")
                    smtp.send_message(message)
                    sent += 1
        except (OSError, smtplib.SMTPException) as e:
            log.warning("e-mail to %d of %d people not sent: the SMTP server %s:%s failed (%s); "
                        "they still have the update on their 'Your updates' page",
                        len(recipients) - sent, len(recipients), self.smtp.host, self.smtp.port, e)
        self.sent += sent
        return sent
