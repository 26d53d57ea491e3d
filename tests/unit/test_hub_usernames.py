"""The username rule (imported by sign-up, enrolment and the kits)."""

import pytest
from backstage.usernames import validate_username


@pytest.mark.parametrize("raw, normal", [("ada", "ada"), ("  Ada_Lovelace ", "ada_lovelace"), ("a-1", "a-1"),
                                         ("x" * 32, "x" * 32)])
def test_good_names_are_normalised(raw, normal):
    assert validate_username(raw) == normal


@pytest.mark.parametrize("raw, words", [
    ("", ["empty"]),
    ("   ", ["empty"]),
    ("1ada", ["start with a letter"]),
    ("-ada", ["start with a letter"]),
    ("ada lovelace", ["characters other than", "'ada-lovelace'"]),
    ("ada/../root", ["characters other than"]),
    ("<script>", ["characters other than"]),
    ("zoë", ["characters other than"]),
    ("x" * 33, ["33 characters", "at most 32"]),
    (None, ["must be text"]),
    (42, ["must be text"]),
])
def test_bad_names_say_why(raw, words):
    with pytest.raises(ValueError) as e:
        validate_username(raw)
    for word in words:
        assert word in str(e.value)
