"""Reading an attendees CSV: bad rows are named by line number, good rows go through untouched."""

from __future__ import annotations

import csv
import os
import stat

import pytest
from backstage.kits import KitError
from backstage.kits.enrol import event_group, read_attendees, read_token, write_credentials


def _csv(tmp_path, text, name="attendees.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_bad_rows_are_reported_by_spreadsheet_line_number(tmp_path):
    path = _csv(
        tmp_path,
        "username,name,email\n"  # line 1
        "ada,Ada Lovelace,ada@example.org\n"  # 2 good
        "Bad Name,Bob,bob@example.org\n"  # 3 spaces in username
        "carol,,carol@example.org\n"  # 4 empty name
        "dan,Dan,not-an-email\n"  # 5 bad email
        "\n"  # 6 blank: ignored
        "ADA,Ada Again,ada2@example.org\n"  # 7 duplicate after normalising
        "eve,Eve,eve@example.org,extra\n"  # 8 stray comma
        " Frank_9 ,Frank Nine,frank@example.org\n"  # 9 good, normalised
        f"gus,{'G' * 201},gus@example.org\n",  # 10 name longer than the hub accepts
    )
    roster = read_attendees(path)
    assert [r["username"] for r in roster.good] == ["ada", "frank_9"]
    assert roster.lines == [2, 9]
    bad = {b.line: b.reason for b in roster.bad}
    assert sorted(bad) == [3, 4, 5, 7, 8, 10]
    assert bad[10] == "the name is 201 characters long: use at most 200"
    assert "characters other than" in bad[3] and "bad-name" in bad[3]
    assert bad[4] == "the name is empty"
    assert "'not-an-email' is not an email address" in bad[5]
    assert bad[7] == "username 'ada' is already on line 2"
    assert "more fields than the header" in bad[8]


def test_header_is_case_insensitive_and_a_bom_is_fine(tmp_path):
    path = tmp_path / "a.csv"
    path.write_bytes("\ufeffEmail,Name,Username\ngrace@example.org,Grace Hopper,grace\n".encode())
    roster = read_attendees(path)
    assert roster.good == [{"username": "grace", "name": "Grace Hopper", "email": "grace@example.org"}]


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (b"name,email\nx,y@z.org\n", "has no username column"),
        (b"", "has no username, name, email column"),
        (b"username,name,email\n\xff\xfe\xfa,x,y\n", "is not UTF-8 text"),
    ],
)
def test_a_file_that_is_not_an_attendees_csv_is_refused(tmp_path, content, message):
    path = tmp_path / "a.csv"
    path.write_bytes(content)
    with pytest.raises(KitError, match=message):
        read_attendees(path)


def test_a_missing_file_is_named(tmp_path):
    with pytest.raises(KitError, match="No attendees file at"):
        read_attendees(tmp_path / "nope.csv")


def test_token_comes_from_the_environment_or_a_file_never_argv(tmp_path, monkeypatch):
    monkeypatch.delenv("JUPYTERHUB_API_TOKEN", raising=False)
    with pytest.raises(KitError, match="No hub token"):
        read_token(None)
    monkeypatch.setenv("JUPYTERHUB_API_TOKEN", " env-token \n")
    assert read_token(None) == "env-token"
    token_file = tmp_path / "token"
    token_file.write_text("file-token\n")
    token_file.chmod(0o600)
    assert read_token(token_file) == "file-token"
    with pytest.raises(KitError, match="Cannot read the token file"):
        read_token(tmp_path / "missing")


def test_the_kit_command_has_no_token_option_on_the_command_line():
    from backstage.cli import build_parser

    parser = build_parser()
    args = parser.parse_args(["kit", "enrol", "clean-air", "a.csv", "--token-file", "t"])
    assert args.token_file == "t"
    with pytest.raises(SystemExit):
        parser.parse_args(["kit", "enrol", "clean-air", "a.csv", "--token", "secret"])


@pytest.mark.parametrize(("slug", "group"), [("clean-air", "event-clean-air"), ("event-leeds-2026", "event-leeds-2026"), ("x", "event-x")])
def test_event_group_names(slug, group):
    assert event_group(slug) == group


@pytest.mark.parametrize("slug", ["Clean Air", "a" * 42, "a/b", "-lead", "trail-", "é-vent"])
def test_bad_event_slugs_are_refused(slug):
    with pytest.raises(KitError, match="is not a slug"):
        event_group(slug)


def test_credentials_are_written_0600_and_never_overwritten(tmp_path):
    created = [{"username": "ada", "password": "pw-1"}]
    first = write_credentials(tmp_path, "event-x", "https://lab", created, {"ada": "Ada"})
    second = write_credentials(tmp_path, "event-x", "https://lab", created, {"ada": "Ada"})
    assert first != second and first.exists() and second.exists()
    assert stat.S_IMODE(os.stat(first).st_mode) == 0o600
    rows = list(csv.DictReader(first.open()))
    assert rows == [{"username": "ada", "name": "Ada", "password": "pw-1", "sign_in_at": "https://lab"}]
    assert write_credentials(tmp_path, "event-x", "https://lab", [], {}) is None
