"""Checking what a submitter sends: notebook JSON, paths on their server, and secret-looking strings."""

from __future__ import annotations

import copy
import hashlib
import json
import re
from urllib.parse import unquote

import nbformat
from nbformat.validator import ValidationError

#: Cells with this tag are for the notebook's author (tutorial text, the cell that submits it): the gallery
#: leaves them out of everything officials see (the checks' run, thumbnail and preview, and the dashboard).
AUTHOR_ONLY = "author-only"

_ANSI_RE = re.compile(r"\x1b\[[0-9;?]*[ -/]*[@-~]|\x1b[@-Z\\-_]")


class NotebookRejected(ValueError):
    """The submitted notebook or path is refused; the message says why and what to do."""


def strip_ansi(text):
    """*text* without terminal colour codes (tracebacks carry them); non-text is returned unchanged.

    Examples
    --------
    >>> strip_ansi("\\x1b[0;31mZeroDivisionError\\x1b[0m: division by zero")
    'ZeroDivisionError: division by zero'
    """
    return _ANSI_RE.sub("", text) if isinstance(text, str) else text


def is_author_only(cell) -> bool:
    tags = (cell.get("metadata") or {}).get("tags") or []
    return isinstance(tags, list) and AUTHOR_ONLY in tags


def dashboard_view(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """A copy of *nb* without the cells tagged ``author-only``: what the checks run and officials see."""
    view = copy.deepcopy(nb)
    view.cells = [cell for cell in view.cells if not is_author_only(cell)]
    return view


def validate_notebook(data: bytes | str | dict, max_bytes: int) -> tuple[nbformat.NotebookNode, bytes, str]:
    """Validate a submitted notebook and return ``(notebook, canonical bytes, sha256)``.

    Parameters
    ----------
    data
        The notebook as JSON text/bytes or an already-parsed dict.
    max_bytes
        Size cap of the serialised notebook.

    Raises
    ------
    NotebookRejected
        If the notebook is too large, not JSON, not nbformat v4, invalid, or has duplicate cell ids.
    """
    text_input = isinstance(data, (str, bytes, bytearray))
    if text_input:
        raw = data.encode() if isinstance(data, str) else bytes(data)
    else:
        try:
            raw = json.dumps(data).encode()
        except (TypeError, ValueError) as e:
            raise NotebookRejected(f"the notebook is not JSON data ({e})") from e
    if len(raw) > max_bytes:
        raise NotebookRejected(
            f"the notebook is {len(raw):,} bytes, over the {max_bytes:,}-byte limit: "
            "clear large outputs (Kernel > Restart and clear outputs) and submit again"
        )
    try:
        parsed = json.loads(raw) if text_input else data
    except ValueError as e:
        raise NotebookRejected(
            f"not a notebook (not JSON): {e}. Open it in JupyterLab; if it does not open as a notebook, "
            "make a new notebook, copy your cells in, save it and submit that"
        ) from e
    if not isinstance(parsed, dict) or not parsed:
        raise NotebookRejected("the notebook is empty: send the whole .ipynb content (nbformat 4)")
    if parsed.get("nbformat") != 4:
        raise NotebookRejected(
            f"the notebook has nbformat {parsed.get('nbformat')!r}, not 4: open and save it in JupyterLab"
        )
    cells = parsed.get("cells")
    if isinstance(cells, list):
        seen: set[str] = set()
        for index, cell in enumerate(cells):
            cell_id = cell.get("id") if isinstance(cell, dict) else None
            if cell_id is None:
                continue
            if cell_id in seen:
                raise NotebookRejected(
                    f"cell {index} repeats the cell id {cell_id!r}: every cell id must be unique "
                    "(copy the cells into a new notebook in JupyterLab to renumber them)"
                )
            seen.add(cell_id)
    try:
        nb = nbformat.reads(json.dumps(parsed), as_version=4, capture_validation_error={})
        nbformat.validate(nb, version=4)
    except (ValidationError, ValueError, TypeError, KeyError) as e:
        first_line = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
        raise NotebookRejected(f"the notebook is not valid nbformat 4: {first_line}") from e
    canonical = nbformat.writes(nb).encode()
    return nb, canonical, hashlib.sha256(canonical).hexdigest()


def check_server_path(path: str) -> str:
    """Return a safe relative ``.ipynb`` path on the submitter's server, or raise `NotebookRejected`.

    Absolute paths, ``..`` (also percent-encoded, e.g. ``%2e%2e%2f``), backslashes and control
    characters are refused.

    Examples
    --------
    >>> check_server_path("work/dashboard.ipynb")
    'work/dashboard.ipynb'
    """
    if not isinstance(path, str) or not path.strip():
        raise NotebookRejected("give the notebook's path on your server, e.g. 'work/my-dashboard.ipynb'")
    decoded = path
    for _ in range(3):  # undo repeated percent-encoding
        decoded = unquote(decoded)
    if any(ord(c) < 32 for c in decoded) or "\\" in decoded:
        raise NotebookRejected(f"the path {path!r} contains control characters or backslashes")
    if decoded.startswith(("/", "~")) or re.match(r"^[A-Za-z]:", decoded):
        raise NotebookRejected(f"the path {path!r} is absolute: give it relative to your home folder")
    parts = decoded.split("/")
    if any(part in ("..", ".") for part in parts) or decoded != path:
        raise NotebookRejected(
            f"the path {path!r} contains '..', '.' or percent-encoding: give a plain path inside your home folder"
        )
    if not decoded.endswith(".ipynb"):
        raise NotebookRejected(f"the path {path!r} is not a notebook (.ipynb)")
    return decoded


_SECRET_PATTERNS = [
    ("password or secret assigned in code",
     re.compile(r"(?i)(pass(word|wd)?|secret|api[_-]?key|token|auth)\w*\s*[:=]\s*['\"][^'\"\s]{6,}['\"]")),
    ("JupyterHub/GitHub-style token", re.compile(r"\b(ghp|gho|github_pat|glpat|xox[abp])_[A-Za-z0-9_]{16,}")),
    ("AWS access key", re.compile(r"\bAKIA[0-9A-Z]{16}\b")),
    ("long hexadecimal secret", re.compile(r"\b[0-9a-f]{32,}\b")),
    ("JSON web token", re.compile(r"\beyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]{10,}")),
    ("private key", re.compile(r"-----BEGIN [A-Z ]*PRIVATE KEY-----")),
]


def _texts(nb: nbformat.NotebookNode):
    for index, cell in enumerate(nb.cells):
        yield index, "source", cell.get("source", "")
        for output in cell.get("outputs", []) or []:
            if "text" in output:
                yield index, "output", output["text"]
            for mime, value in (output.get("data") or {}).items():
                if mime.startswith("text/") and isinstance(value, str):
                    yield index, "output", value


def find_secrets(nb: nbformat.NotebookNode) -> list[dict]:
    """Flag token- or password-like strings in sources and text outputs (the value is never echoed)."""
    findings = []
    for index, where, text in _texts(nb):
        if not isinstance(text, str):
            text = "".join(text)
        for label, pattern in _SECRET_PATTERNS:
            if pattern.search(text):
                findings.append({"cell": index, "where": where, "kind": label})
    return findings
