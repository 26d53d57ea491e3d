"""`backstage kit enrol` against the real lab: bad rows by line, re-runs, an existing account, bad tokens."""

from __future__ import annotations

import csv
import os
import secrets
import stat
import subprocess
import sys
from pathlib import Path

import pytest
from backstage.cli import main
from backstage_testing.lab import free_port

pytestmark = pytest.mark.integration


def run_kit(capsys, *args) -> tuple[int, str, str]:
    capsys.readouterr()
    code = main(["kit", *args])
    out, err = capsys.readouterr()
    return code, out, err


@pytest.fixture
def organiser(lab, tmp_path):
    name = f"org{secrets.token_hex(3)}"
    lab.create_user(name, groups=("organisers",))
    token_file = tmp_path / "token"
    token_file.write_text(lab.token_for(name) + "\n")
    token_file.chmod(0o600)
    return token_file


def members(lab, group: str) -> set[str]:
    r = lab.api("GET", f"/groups/{group}")
    assert r.status_code == 200, r.text
    return set(r.json()["users"])


def test_enrol_creates_good_rows_skips_bad_ones_and_is_idempotent(lab, organiser, tmp_path, capsys):
    tag = secrets.token_hex(2)
    slug = f"test-{tag}"
    existing = f"old{tag}"
    old_session = lab.create_user(existing, groups=("participants",))
    new = [f"ada{tag}", f"bo{tag}"]
    attendees = tmp_path / "attendees.csv"
    attendees.write_text(
        "username,name,email\n"
        f"{new[0]},Ada Lovelace,ada@example.org\n"  # line 2
        f"Bad Name{tag},Bad,bad@example.org\n"  # line 3: refused
        f"{existing},Already Here,old@example.org\n"  # line 4: an existing account
        f"nomail{tag},No Mail,nomail\n"  # line 5: refused
        f"{new[1]},Bo,bo@example.org\n"  # line 6
        f"{new[0]},Ada Twice,ada2@example.org\n"  # line 7: refused (duplicate)
    )
    out_dir = tmp_path / "out"
    code, out, err = run_kit(capsys, "enrol", "clean-air", str(attendees), "--hub", lab.url,
                             "--token-file", str(organiser), "--event", slug, "--out", str(out_dir))
    assert code == 2, err  # done, but some rows need fixing
    assert f"attendees.csv line 3: username 'bad name{tag}' has characters other than" in out
    assert "line 5: email 'nomail' is not an email address" in out
    assert f"line 7: username '{new[0]}' is already on line 2" in out
    assert "2 account(s) created, 1 already existed" in out

    # the event group holds the good rows (the existing account too); nothing exists for the bad rows
    assert members(lab, f"event-{slug}") == {*new, existing}
    assert {*new, existing} <= members(lab, "participants")
    assert lab.api("GET", f"/users/bad name{tag}").status_code == 404
    assert lab.api("GET", f"/users/nomail{tag}").status_code == 404

    # the new passwords are in a 0600 CSV, and they work on the real login form
    (creds,) = out_dir.glob(f"credentials-event-{slug}-*.csv")
    assert stat.S_IMODE(creds.stat().st_mode) == 0o600
    rows = list(csv.DictReader(creds.open()))
    assert [r["username"] for r in rows] == new
    assert rows[0]["name"] == "Ada Lovelace" and rows[0]["sign_in_at"] == lab.url
    for row in rows:
        assert lab.login(row["username"], row["password"]).username == row["username"]
    assert rows[0]["password"] not in lab.log_text()

    # a re-run (token from the environment, the installed command) creates nothing and changes no password
    good = tmp_path / "good.csv"
    good.write_text("username,name,email\n" + "".join(f"{u},{u},{u}@example.org\n" for u in [*new, existing]))
    env = {**os.environ, "JUPYTERHUB_API_TOKEN": organiser.read_text().strip()}
    r = subprocess.run([str(Path(sys.executable).with_name("backstage")), "kit", "enrol", "clean-air", str(good),
                        "--hub", lab.url, "--event", slug, "--out", str(out_dir)],
                       env=env, capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    assert "0 account(s) created, 3 already existed" in r.stdout
    assert len(list(out_dir.glob("credentials-*.csv"))) == 1
    assert lab.login(existing, old_session.password)
    assert lab.login(rows[0]["username"], rows[0]["password"])
    assert organiser.read_text().strip() not in r.stdout + r.stderr


def test_a_participant_token_is_refused_and_nothing_is_created(lab, tmp_path, capsys):
    name = f"pt{secrets.token_hex(3)}"
    lab.create_user(name, groups=("participants",))
    token_file = tmp_path / "token"
    token_file.write_text(lab.token_for(name))
    attendees = tmp_path / "a.csv"
    target = f"nope{secrets.token_hex(3)}"
    attendees.write_text(f"username,name,email\n{target},N,n@example.org\n")
    code, _, err = run_kit(capsys, "enrol", "clean-air", str(attendees), "--hub", lab.url, "--token-file", str(token_file))
    assert code == 1
    assert "refused the token (403)" in err and "organisers" in err
    assert lab.api("GET", f"/users/{target}").status_code == 404


def test_a_hub_that_does_not_answer_is_named(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", "x" * 32)
    attendees = tmp_path / "a.csv"
    attendees.write_text("username,name,email\nada,Ada,ada@example.org\n")
    hub = f"http://127.0.0.1:{free_port()}"
    code, _, err = run_kit(capsys, "enrol", "clean-air", str(attendees), "--hub", hub)
    assert code == 1
    assert f"The hub at {hub} does not answer" in err and "--hub" in err


def test_check_mode_sends_nothing(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    attendees = tmp_path / "a.csv"
    attendees.write_text("username,name,email\nada,Ada,ada@example.org\n9lives,Cat,cat@example.org\n")
    code, out, _ = run_kit(capsys, "enrol", "clean-air", str(attendees), "--check")
    assert code == 2
    assert "line 3: username '9lives' must start with a letter" in out
    assert "1 row(s) ready, 1 bad row(s); nothing sent." in out


def test_passwords_of_batches_that_went_through_are_kept_when_the_hub_drops(lab, organiser, tmp_path, capsys,
                                                                           monkeypatch):
    import requests
    from backstage.kits import enrol

    real_post = requests.post
    calls = []

    def post_then_drop(*args, **kwargs):  # the real hub answers the first batch, then the network drops
        calls.append(1)
        if len(calls) > 1:
            raise requests.ConnectionError("connection reset by peer")
        return real_post(*args, **kwargs)

    monkeypatch.setattr(enrol, "BATCH", 1)
    monkeypatch.setattr(enrol.requests, "post", post_then_drop)
    tag = secrets.token_hex(2)
    first, second = f"fa{tag}", f"fb{tag}"
    attendees = tmp_path / "a.csv"
    attendees.write_text(f"username,name,email\n{first},F A,a@example.org\n{second},F B,b@example.org\n")
    out_dir = tmp_path / "out"
    code, out, err = run_kit(capsys, "enrol", "clean-air", str(attendees), "--hub", lab.url,
                             "--token-file", str(organiser), "--event", f"drop-{tag}", "--out", str(out_dir))
    assert code == 1 and "does not answer" in err
    (creds,) = out_dir.glob("credentials-*.csv")
    rows = list(csv.DictReader(creds.open()))
    assert [r["username"] for r in rows] == [first]
    assert "1 account(s) were created before the error" in out
    assert lab.login(first, rows[0]["password"])
    assert lab.api("GET", f"/users/{second}").status_code == 404
