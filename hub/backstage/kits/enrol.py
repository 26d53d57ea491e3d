"""`backstage kit enrol`: accounts for a room of attendees, through the hub's enrol API, idempotently."""

from __future__ import annotations

import csv
import io
import logging
import os
import re
import stat
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests
from tqdm.auto import tqdm

from .errors import KitError

log = logging.getLogger(__name__)

REQUIRED_COLUMNS = ("username", "name", "email")
_EMAIL = re.compile(r"^[^@\s,;<>]+@[^@\s,;<>]+\.[^@\s,;<>]+$")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,39}[a-z0-9])?$")  # event-<slug>: what the hub accepts
BATCH = 50  # attendees per request
MAX_TEXT = 200  # the hub's limit on a name or an email


@dataclass
class BadRow:
    line: int
    reason: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.reason}"


@dataclass
class Roster:
    """The attendees CSV, split into rows to send and rows refused (with their line numbers)."""

    good: list[dict] = field(default_factory=list)
    lines: list[int] = field(default_factory=list)
    bad: list[BadRow] = field(default_factory=list)


def _validate_username(raw: str) -> str:
    from backstage.usernames import validate_username

    return validate_username(raw)


def read_attendees(path: Path) -> Roster:
    """Read and check an attendees CSV (columns ``username``, ``name``, ``email``; a header row first).

    Each row is checked on its own: a username the hub would refuse, an email that is not an
    address, an empty name, or a username already used on an earlier line makes the row bad.
    Line numbers count the header as line 1, as a spreadsheet does.

    Raises
    ------
    KitError
        When the file cannot be read as a CSV with those columns at all.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError as err:
        raise KitError(f"No attendees file at {path}: give the path of a CSV with columns username,name,email.") from err
    except UnicodeDecodeError as err:
        raise KitError(f"{path} is not UTF-8 text: save it from your spreadsheet as 'CSV UTF-8' and try again.") from err
    reader = csv.DictReader(io.StringIO(text, newline=""))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    missing = [c for c in REQUIRED_COLUMNS if c not in header]
    if missing:
        raise KitError(
            f"{path} has no {', '.join(missing)} column(s) in its header row (found: {', '.join(header) or 'nothing'}). "
            "The first line must be: username,name,email"
        )
    reader.fieldnames = header
    roster = Roster()
    seen: dict[str, int] = {}
    for row in reader:
        line = reader.line_num
        if None in row:
            roster.bad.append(BadRow(line, "more fields than the header has columns (a stray comma?)"))
            continue
        values = {k: (row.get(k) or "").strip() for k in REQUIRED_COLUMNS}
        if not any(values.values()):
            continue  # blank line
        reasons = []
        username = values["username"]
        try:
            username = _validate_username(username)
        except ValueError as err:
            reasons.append(str(err))
        if not values["name"]:
            reasons.append("the name is empty")
        elif len(values["name"]) > MAX_TEXT:
            reasons.append(f"the name is {len(values['name'])} characters long: use at most {MAX_TEXT}")
        if not _EMAIL.match(values["email"]) or len(values["email"]) > MAX_TEXT:
            reasons.append(f"email {values['email']!r} is not an email address")
        if not reasons and username in seen:
            reasons.append(f"username {username!r} is already on line {seen[username]}")
        if reasons:
            roster.bad.append(BadRow(line, "; ".join(reasons)))
            continue
        seen[username] = line
        roster.good.append({"username": username, "name": values["name"], "email": values["email"]})
        roster.lines.append(line)
    return roster


def read_token(token_file: Path | None) -> str:
    """The organiser's hub token: from ``--token-file`` or ``$JUPYTERHUB_API_TOKEN`` (never the command line)."""
    if token_file:
        token_file = Path(token_file)
        try:
            mode = token_file.stat().st_mode
            token = token_file.read_text(encoding="utf-8").strip()
        except OSError as err:
            raise KitError(f"Cannot read the token file {token_file}: {err.strerror}.") from err
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            log.warning("%s can be read by other users: run `chmod 600 %s`", token_file, token_file)
    else:
        token = os.environ.get("JUPYTERHUB_API_TOKEN", "").strip()
    if not token:
        raise KitError(
            "No hub token: set JUPYTERHUB_API_TOKEN or pass --token-file FILE holding an organiser's token "
            "(make one at <hub>/hub/token; it needs the custom:backstage:enrol scope, which organisers have)."
        )
    return token


def event_group(slug: str) -> str:
    """``event-<slug>``, after checking the slug is lower-case letters, digits and dashes."""
    slug = slug.removeprefix("event-")
    if not _SLUG.match(slug):
        raise KitError(f"--event {slug!r} is not a slug: use at most 41 lower-case letters, digits and dashes, e.g. clean-air-2026-11")
    return f"event-{slug}"


@dataclass
class EnrolResult:
    group: str
    created: list[dict] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)


def post_enrol(hub: str, token: str, group: str, attendees: list[dict], lines: list[int], timeout: float = 60,
               result: EnrolResult | None = None) -> EnrolResult:
    """Send the attendees to ``POST {hub}/hub/api/backstage/enrol`` in batches, with a progress bar.

    Parameters
    ----------
    result : EnrolResult, optional
        Filled in batch by batch, so that a caller still holds the passwords of the batches that
        went through when a later batch fails.

    Raises
    ------
    KitError
        The hub cannot be reached, refuses the token, or rejects rows (named by their CSV line).
    """
    url = hub.rstrip("/").removesuffix("/hub") + "/hub/api/backstage/enrol"
    headers = {"Authorization": f"token {token}"}
    result = result if result is not None else EnrolResult(group=group)
    with tqdm(total=len(attendees), desc=f"enrolling into {group}", unit="person") as bar:
        for start in range(0, len(attendees), BATCH):
            batch = attendees[start : start + BATCH]
            try:
                r = requests.post(url, json={"group": group, "attendees": batch}, headers=headers, timeout=timeout)
            except requests.ConnectionError as err:
                raise KitError(f"The hub at {hub} does not answer ({err.__class__.__name__}): is it running, and is --hub right?") from err
            except requests.Timeout as err:
                raise KitError(f"The hub at {hub} did not answer within {timeout:.0f} s: try again, or check it is healthy.") from err
            _raise_for(r, hub, lines[start : start + BATCH])
            body = r.json()
            result.created += body.get("created", [])
            result.existing += [e if isinstance(e, str) else e.get("username", str(e)) for e in body.get("existing", [])]
            bar.update(len(batch))
    return result


def _raise_for(r: requests.Response, hub: str, lines: list[int]) -> None:
    if r.status_code == 200:
        return
    if r.status_code in (401, 403):
        raise KitError(
            f"The hub at {hub} refused the token ({r.status_code}): it must belong to an organiser "
            "(a member of the 'organisers' group, scope custom:backstage:enrol). Ask an admin."
        )
    if r.status_code == 404:
        raise KitError(f"{r.url} does not exist ({r.status_code}): is --hub the address of a Government Backstage hub?")
    detail = _error_detail(r, lines)
    raise KitError(f"The hub at {hub} refused the enrolment ({r.status_code}): {detail}. Nothing was created for this batch.")


def _error_detail(r: requests.Response, lines: list[int]) -> str:
    try:
        body = r.json()
    except ValueError:
        return r.text[:300] or r.reason
    entries = body.get("errors") or body.get("bad") or body.get("invalid") or []
    parts = []
    for entry in entries if isinstance(entries, list) else []:
        index = entry.get("index") if isinstance(entry, dict) else None
        reason = entry.get("reason", entry) if isinstance(entry, dict) else entry
        where = f"line {lines[index]}" if isinstance(index, int) and 0 <= index < len(lines) else "the request"
        parts.append(f"{where}: {reason}")
    return "; ".join(parts) or str(body.get("message") or body)


def write_credentials(folder: Path, group: str, hub: str, created: list[dict], names: dict[str, str]) -> Path | None:
    """Write the new accounts' passwords to a fresh 0600 CSV for printing (never overwriting one)."""
    if not created:
        return None
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    path = folder / f"credentials-{group}-{stamp}.csv"
    n = 1
    while path.exists():
        n += 1
        path = folder / f"credentials-{group}-{stamp}-{n}.csv"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["username", "name", "password", "sign_in_at"])
        for account in created:
            writer.writerow([account["username"], names.get(account["username"], ""), account["password"], hub])
    return path
