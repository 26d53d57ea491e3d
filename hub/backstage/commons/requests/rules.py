"""What a data request may hold and how its status may move (issue 13; contract 7).

Kinds: ``new-data`` (data that is not published) and ``barrier`` (a problem using data that is). Barrier
codes are data.gov.uk's old list. Statuses move ``open`` → ``in-progress`` | ``scheduled`` → a final
answer; ``released`` and ``already-available`` must name a catalog id that loads and verifies (checked
by the desk, not here); ``cannot-release`` and ``not-a-request`` need a reason.
"""

from __future__ import annotations

import re

__all__ = [
    "BARRIERS", "FINAL_STATUSES", "KINDS", "NEEDS_DATASET", "NEEDS_REASON", "STATUSES", "RequestError",
    "check_answer", "check_new_request",
]

KINDS = {"new-data": "New data", "barrier": "A barrier to using published data"}
BARRIERS = {
    "not-published": "Not published",
    "not-machine-readable": "Not machine-readable",
    "licence": "Licence does not allow reuse",
    "cost": "Cost",
    "personal-data": "Personal data",
    "commercial-confidentiality": "Commercial confidentiality",
    "broken-link": "Broken link or changed file",
    "quality": "Quality",
    "other": "Other",
}
STATUSES = {
    "open": "Open",
    "in-progress": "In progress",
    "scheduled": "Scheduled",
    "released": "Released",
    "already-available": "Already available",
    "cannot-release": "Cannot release",
    "not-a-request": "Not a data request",
}
FINAL_STATUSES = ("released", "already-available", "cannot-release", "not-a-request")
NEEDS_DATASET = ("released", "already-available")
NEEDS_REASON = ("cannot-release", "not-a-request")

MAX_TITLE = 200
MAX_BODY = 10_000
MAX_PUBLISHER = 200
MAX_URL = 2_000
_URL_RE = re.compile(r"^https?://[^\s<>\"']+$")


class RequestError(ValueError):
    """A request the desk refuses; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, status: int = 400):
        super().__init__(message)
        self.status = status


def _text(body: dict, key: str, limit: int, *, required: bool) -> str:
    value = body.get(key)
    if value is None or value == "":
        if required:
            raise RequestError(f"'{key}' is missing: give the request a {key}")
        return ""
    if not isinstance(value, str):
        raise RequestError(f"'{key}' must be text, not {type(value).__name__}")
    value = value.strip()
    if required and not value:
        raise RequestError(f"'{key}' is empty: give the request a {key}")
    if len(value) > limit:
        raise RequestError(f"'{key}' is {len(value):,} characters long: keep it to {limit:,}")
    if "\x00" in value:
        raise RequestError(f"'{key}' holds a NUL character: remove it")
    return value


def check_dataset_reference(value: str, catalog_lookup) -> tuple[str, str]:
    """``(dataset, publisher)`` for a govdata id or an http(s) URL; an unknown id is refused by name.

    *catalog_lookup* is ``govdata.info`` (or a stand-in in tests): it raises ``KeyError`` naming near ids.
    """
    if value.startswith(("http://", "https://")):
        if len(value) > MAX_URL or not _URL_RE.match(value):
            raise RequestError(f"'dataset' {value[:80]!r} is not a plain http(s) URL: paste the link to the file")
        return value, ""
    try:
        entry = catalog_lookup(value)
    except KeyError as e:
        message = e.args[0] if e.args else str(e)
        raise RequestError(f"'dataset' {value[:80]!r} is neither a govdata catalog id nor an http(s) URL. {message}") from None
    return entry.id, entry.publisher


def check_new_request(body: dict, catalog_lookup) -> dict:
    """The clean fields of a new request (contract 7's POST body), or `RequestError` naming the problem."""
    unknown = sorted(set(body) - {"kind", "title", "body", "publisher", "dataset", "barrier", "confidential"})
    if unknown:
        raise RequestError(f"unknown field(s) {', '.join(map(repr, unknown))}: a request has kind, title, body, "
                           "publisher, dataset, barrier and confidential")
    kind = body.get("kind")
    if kind not in KINDS:
        raise RequestError(f"'kind' must be one of {', '.join(KINDS)}, not {str(kind)[:40]!r}")
    clean = {
        "kind": kind,
        "title": _text(body, "title", MAX_TITLE, required=True),
        "body": _text(body, "body", MAX_BODY, required=True),
        "publisher": _text(body, "publisher", MAX_PUBLISHER, required=False),
        "dataset": "",
        "barrier": "",
    }
    confidential = body.get("confidential", False)
    if confidential in (None, ""):
        confidential = False
    if not isinstance(confidential, bool):
        raise RequestError("'confidential' must be true or false")
    clean["confidential"] = confidential
    dataset = _text(body, "dataset", MAX_URL, required=kind == "barrier")
    if dataset:
        clean["dataset"], publisher = check_dataset_reference(dataset, catalog_lookup)
        clean["publisher"] = publisher or clean["publisher"]
    barrier = body.get("barrier") or ""
    if kind == "barrier":
        if barrier not in BARRIERS:
            raise RequestError(f"'barrier' must be one of {', '.join(BARRIERS)}, not {str(barrier)[:40]!r}")
        clean["barrier"] = barrier
    elif barrier:
        raise RequestError("'barrier' is only for kind 'barrier': leave it out of a new-data request")
    return clean


def check_answer(body: dict) -> dict:
    """The clean fields of a steward's answer (``status``, ``message``, ``dataset``), or `RequestError`."""
    status = body.get("status")
    answers = [s for s in STATUSES if s != "open"]
    if status not in answers:
        raise RequestError(f"'status' must be one of {', '.join(answers)}, not {str(status)[:40]!r}")
    message = _text(body, "message", MAX_BODY, required=status in NEEDS_REASON)
    dataset = body.get("dataset") or ""
    if not isinstance(dataset, str) or len(dataset) > 200:
        raise RequestError("'dataset' must be a govdata catalog id such as 'imd-2019-lad21'")
    if status in NEEDS_DATASET and not dataset.strip():
        raise RequestError(f"'{status}' needs 'dataset': the govdata catalog id where the data now is")
    return {"status": status, "message": message, "dataset": dataset.strip()}
