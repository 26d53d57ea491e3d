"""The sign-up store: hashing, approval, duplicates, enrolment; and the enrolment body check."""

from __future__ import annotations

import stat

import pytest
from backstage.auth.enrol import check_enrolment
from backstage.auth.store import DuplicateSignup, PendingSignup, SignupStore, hash_password, verify_password


def test_passwords_are_salted_scrypt_hashes():
    a, b = hash_password("correct horse"), hash_password("correct horse")
    assert a != b and a.startswith("scrypt$") and "correct" not in a
    assert verify_password("correct horse", a) and not verify_password("wrong horse", a)
    assert not verify_password("x", "garbage") and not verify_password("x", "md5$1$2$3$aa$bb")


def test_store_file_is_private_and_never_holds_the_password(tmp_path):
    store = SignupStore(tmp_path / "s.sqlite")
    store.add("ada", "s3cret-password")
    assert stat.S_IMODE((tmp_path / "s.sqlite").stat().st_mode) == 0o600
    assert b"s3cret-password" not in (tmp_path / "s.sqlite").read_bytes()


def test_signup_waits_for_approval(tmp_path):
    store = SignupStore(tmp_path / "s.sqlite")
    store.add("ada", "password1", name="Ada", email="ada@example.org")
    person = store.check("ada", "password1")
    assert person.username == "ada" and person.approved is False
    assert store.check("ada", "password2") is None and store.check("bob", "password1") is None
    assert [p.username for p in store.people(approved=False)] == ["ada"]
    assert store.approve("ada") and store.check("ada", "password1").approved
    assert not store.approve("nobody")


def test_duplicate_signup_changes_nothing(tmp_path):
    store = SignupStore(tmp_path / "s.sqlite")
    store.add("ada", "password1")
    with pytest.raises(DuplicateSignup, match="already taken"):
        store.add("ada", "password2")
    assert store.check("ada", "password1") and not store.check("ada", "password2")


def test_enrolment_creates_once(tmp_path):
    store = SignupStore(tmp_path / "s.sqlite")
    store.add("bob", "password1", approved=True)  # an approved account keeps its password
    created = store.add_many([("ada", "Ada", ""), ("bob", "Bob", "")])
    assert list(created) == ["ada"] and len(created["ada"]) >= 12
    assert store.check("ada", created["ada"]).approved
    assert store.check("bob", "password1").approved
    assert store.add_many([("ada", "Ada", "")]) == {}
    assert store.check("ada", created["ada"])


def test_enrolling_a_pending_signup_is_refused_and_adds_nobody(tmp_path):
    store = SignupStore(tmp_path / "s.sqlite")
    store.add("mallory", "pre-registered")  # someone took the name before the organiser enrolled it
    with pytest.raises(PendingSignup) as refused:
        store.add_many([("ada", "Ada", ""), ("mallory", "", "")])
    assert refused.value.usernames == ["mallory"]
    assert store.get("ada") is None and not store.get("mallory").approved


def test_unknown_and_known_names_cost_one_scrypt_each(tmp_path, monkeypatch):
    import hashlib

    store = SignupStore(tmp_path / "s.sqlite")
    store.add("ada", "password1")
    calls = []
    real = hashlib.scrypt
    monkeypatch.setattr(hashlib, "scrypt", lambda *a, **k: calls.append(1) or real(*a, **k))
    store.check("ada", "wrong-password")
    known = len(calls)
    store.check("nobody", "wrong-password")
    assert known == 1 and len(calls) - known == 1


def test_enrolment_body_lists_every_bad_entry():
    group, people, errors = check_enrolment({"group": "event-leeds-2026", "attendees": [
        {"username": "ada"}, {"username": "Bad Name"}, {"username": "ada"}, "bob", {"name": "no username"}]})
    assert group == "event-leeds-2026" and people == [("ada", "", "")]
    assert [e["index"] for e in errors] == [1, 2, 3, 4]
    assert "characters other than" in errors[0]["reason"] and "twice" in errors[1]["reason"]


@pytest.mark.parametrize("body", [None, [], "x", {"group": "leeds", "attendees": [{"username": "ada"}]},
                                  {"group": "event-", "attendees": [{"username": "ada"}]},
                                  {"group": "event-x", "attendees": []}, {"group": "event-x"}])
def test_enrolment_body_rejects_malformed(body):
    assert check_enrolment(body)[2]
