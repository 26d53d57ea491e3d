"""E-mail updates against a real SMTP server on loopback (aiosmtpd), and against one that is down."""

from __future__ import annotations

import sqlite3

import pytest
from backstage.auth.store import SignupStore
from backstage.commons.requests.notify import Notifier, SmtpSettings
from backstage.commons.requests.store import RequestStore
from backstage.net import free_port
from backstage_testing.smtp import smtp_server

pytestmark = pytest.mark.integration


@pytest.fixture
def store(tmp_path):
    people = SignupStore(tmp_path / "signups.sqlite")
    people.add("ada", "password-ada", approved=True, email="ada@example.org")
    people.add("ben", "password-ben", approved=True, email="ben@example.org")
    people.add("cy", "password-cy", approved=True)  # no address: in-app only
    return RequestStore(sqlite3.connect(":memory:", isolation_level=None))


def test_each_person_gets_one_message_addressed_to_them_alone(tmp_path, store):
    with smtp_server() as mail:
        notifier = Notifier(store, tmp_path, SmtpSettings("127.0.0.1", mail.port, "lab@example.org"), "http://lab")
        recipients = notifier.tell({"ada", "ben", "cy"}, kind="answer", subject="Data request 7: Released",
                                   text="Done.", link="/services/commons/requests/7")
        assert sorted(recipients) == [("ada@example.org", "ada"), ("ben@example.org", "ben")]
        assert notifier.send(recipients, subject="Data request 7: Released", text="Done.",
                             link="/services/commons/requests/7") == 2
        assert sorted(rcpts for _, rcpts in mail.envelopes) == [["ada@example.org"], ["ben@example.org"]]
        for message in mail.messages:
            assert message["From"] == "lab@example.org" and message["Cc"] is None and message["Bcc"] is None
            assert "http://lab/services/commons/requests/7" in message.get_content()
            other = {"ada@example.org", "ben@example.org"} - {message["To"]}
            assert not any(address in message.as_string() for address in other)
    assert [u["subject"] for u in store.updates_for("cy")] == ["Data request 7: Released"]


def test_an_smtp_server_that_is_down_loses_no_update(tmp_path, store, caplog):
    notifier = Notifier(store, tmp_path, SmtpSettings("127.0.0.1", free_port(), "lab@example.org", timeout=3),
                        "http://lab")
    recipients = notifier.tell({"ada"}, kind="answer", subject="Data request 8: Scheduled", text="Soon.",
                               link="/services/commons/requests/8")
    assert notifier.send(recipients, subject="Data request 8: Scheduled", text="Soon.",
                         link="/services/commons/requests/8") == 0
    assert "still have the update" in caplog.text
    assert [u["subject"] for u in store.updates_for("ada")] == ["Data request 8: Scheduled"]
