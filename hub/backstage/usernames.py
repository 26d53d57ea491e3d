"""The one rule for user names, shared by sign-up, enrolment and the Unix accounts behind servers.

A name is 1-32 characters of lower-case ASCII letters, digits, ``-`` and ``_``, starting with a
letter. That keeps it safe in URLs, in file names and (after the prefix) as a Unix account name.
"""

from __future__ import annotations

import re

MAX_LENGTH = 32
_PATTERN = re.compile(r"^[a-z][a-z0-9_-]*$")

__all__ = ["MAX_LENGTH", "validate_username"]


def validate_username(name: object) -> str:
    """Return ``name`` normalised (stripped, lower-cased), or raise ``ValueError`` saying what is wrong.

    Parameters
    ----------
    name : str
        The name a person typed or an organiser listed.

    Returns
    -------
    str
        The normalised name.

    Raises
    ------
    ValueError
        If the name is empty, too long, or holds characters other than ``a-z 0-9 - _``.

    Examples
    --------
    >>> validate_username("  Ada_Lovelace ")
    'ada_lovelace'
    >>> validate_username("ada lovelace")
    Traceback (most recent call last):
    ...
    ValueError: username 'ada lovelace' has characters other than a-z, 0-9, '-' and '_': use for example 'ada-lovelace'
    """
    if not isinstance(name, str):
        raise ValueError(f"username must be text, not {type(name).__name__}")
    normal = name.strip().lower()
    if not normal:
        raise ValueError("username is empty: choose a name of letters, digits, '-' or '_'")
    if len(normal) > MAX_LENGTH:
        raise ValueError(f"username {normal!r} is {len(normal)} characters long: use at most {MAX_LENGTH}")
    if not _PATTERN.match(normal):
        if not normal[0].isascii() or not normal[0].isalpha():
            if re.fullmatch(r"[a-z0-9_-]+", normal):
                raise ValueError(f"username {normal!r} must start with a letter a-z")
        suggestion = re.sub(r"[^a-z0-9_-]+", "-", normal.encode("ascii", "ignore").decode()).strip("-_")
        hint = f": use for example {suggestion!r}" if suggestion and suggestion[0].isalpha() else ""
        raise ValueError(f"username {normal!r} has characters other than a-z, 0-9, '-' and '_'{hint}")
    return normal
