"""What the gallery accepts from submitters: notebooks, paths on their server, secrets flagged."""

import json

import nbformat
import pytest
from backstage.gallery.notebooks import NotebookRejected, check_server_path, find_secrets, validate_notebook
from backstage.gallery.proxy import V1_PROTOCOL, message_type
from backstage.gallery.submit import SubmissionError, clean_fields


def _nb(*sources):
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(s) for s in sources]
    return json.loads(nbformat.writes(nb))


def test_a_valid_notebook_is_accepted_with_its_hash():
    nb, raw, sha = validate_notebook(_nb("print(1)"), 10**6)
    assert nb.cells[0].source == "print(1)" and len(sha) == 64 and raw.startswith(b"{")


@pytest.mark.parametrize("bad, message", [
    ({}, "empty"),
    ("not json", "not a notebook \\(not JSON\\)"),
    ({"nbformat": 3, "cells": []}, "nbformat 3"),
    ({"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": [{"cell_type": "bogus"}]}, "not valid nbformat"),
    ([1, 2], "empty"),
])
def test_invalid_notebooks_are_refused_with_the_reason(bad, message):
    with pytest.raises(NotebookRejected, match=message):
        validate_notebook(bad, 10**6)


def test_duplicate_cell_ids_are_refused():
    nb = _nb("a = 1", "b = 2")
    nb["cells"][1]["id"] = nb["cells"][0]["id"]
    with pytest.raises(NotebookRejected, match="repeats the cell id"):
        validate_notebook(nb, 10**6)


def test_oversized_notebooks_are_refused_before_parsing():
    with pytest.raises(NotebookRejected, match="over the 1,000-byte limit"):
        validate_notebook(_nb("x = '" + "a" * 2000 + "'"), 1000)


@pytest.mark.parametrize("path", ["../secret.ipynb", "%2e%2e%2fsecret.ipynb", "%252e%252e%252fx.ipynb", "/etc/passwd",
                                  "~root/x.ipynb", "a/../../b.ipynb", "a\\b.ipynb", "C:/x.ipynb", "x.py", "",
                                  "a/./b.ipynb", "nul\x00.ipynb"])
def test_hostile_server_paths_are_refused(path):
    with pytest.raises(NotebookRejected):
        check_server_path(path)


def test_plain_relative_paths_are_kept():
    assert check_server_path("work/my dashboard.ipynb") == "work/my dashboard.ipynb"


def test_secret_like_strings_are_flagged_without_echoing_them():
    nb = nbformat.from_dict(_nb('API_KEY = "sk-live-abcdef123456"', "x = 1", "t = 'ghp_" + "a" * 30 + "'"))
    findings = find_secrets(nb)
    assert {f["cell"] for f in findings} == {0, 2}
    assert "sk-live" not in json.dumps(findings)
    assert find_secrets(nbformat.from_dict(_nb("total = 3 + 4"))) == []


@pytest.mark.parametrize("body, message", [
    ({"title": ""}, "give a title"),
    ({"title": "x" * 121}, "keep it to 120"),
    ({"title": "ok", "summary": 3}, "summary"),
    ({"title": "ok", "topics": [1]}, "topics"),
    ({"title": "ok", "topics": ["a"] * 3 + ["b" * 41]}, "at most"),
])
def test_bad_fields_are_refused(body, message):
    with pytest.raises(SubmissionError, match=message):
        clean_fields(body)


def test_fields_keep_hostile_text_verbatim_for_escaping_later():
    title, summary, topics = clean_fields({"title": '"><img src=x onerror=alert(1)>', "summary": "<script>",
                                           "topics": "Transport, <b>x</b>, transport"})
    assert title == '"><img src=x onerror=alert(1)>' and summary == "<script>"
    assert topics == ["transport", "<b>x</b>"]


def _v1(msg_type):
    parts = [b"shell", json.dumps({"msg_type": msg_type}).encode(), b"{}", b"{}", b"{}"]
    offsets = [8 * (len(parts) + 2)]
    for part in parts:
        offsets.append(offsets[-1] + len(part))
    count = len(offsets)
    return count.to_bytes(8, "little") + b"".join(o.to_bytes(8, "little") for o in offsets) + b"".join(parts)


def test_kernel_message_types_are_read_in_both_framings():
    assert message_type(_v1("execute_request"), V1_PROTOCOL) == "execute_request"
    assert message_type(_v1("comm_msg"), V1_PROTOCOL) == "comm_msg"
    assert message_type(json.dumps({"header": {"msg_type": "execute_request"}})) == "execute_request"
    assert message_type(b"garbage", V1_PROTOCOL) is None
    assert message_type("{not json") is None


def test_v1_frames_made_by_jupyter_servers_own_serialiser_are_read():
    from jupyter_server.services.kernels.connection.base import (
        serialize_binary_message,
        serialize_msg_to_ws_v1,
    )

    parts = [json.dumps({"msg_type": "execute_request"}).encode(), b"{}", b"{}", b'{"code": "1"}']
    assert message_type(serialize_msg_to_ws_v1(parts, "shell"), V1_PROTOCOL) == "execute_request"
    legacy = serialize_binary_message({"header": {"msg_type": "execute_request", "date": "2026-01-01T00:00:00Z"},
                                       "parent_header": {}, "buffers": [b"x"]})
    assert message_type(legacy) == "execute_request"


@pytest.mark.parametrize("frame", [
    (2**62).to_bytes(8, "little") + b"\0" * 64,   # a hostile count of parts: refused before any list is built
    (2).to_bytes(8, "little") + b"\0" * 64,
])
def test_hostile_v1_frames_are_unreadable_not_a_hang(frame):
    assert message_type(frame, V1_PROTOCOL) is None
    assert message_type(b"\x7f\xff\xff\xff" + b"\0" * 16) is None  # legacy framing, 2**31 parts


def test_terminal_colour_codes_are_stripped_from_tracebacks():
    from backstage.gallery.notebooks import strip_ansi

    assert strip_ansi("\x1b[0;31mValueError\x1b[0m: bad \x1b[1;32mvalue\x1b[0m") == "ValueError: bad value"
    assert strip_ansi(3) == 3


def test_the_dashboard_view_leaves_out_author_only_cells():
    from backstage.gallery.notebooks import dashboard_view

    nb = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("How to build a dashboard", metadata={"tags": ["author-only"]}),
        nbformat.v4.new_code_cell("x = 1"),
        nbformat.v4.new_code_cell("submit('me.ipynb')", metadata={"tags": ["author-only", "other"]}),
    ])
    view = dashboard_view(nb)
    assert [c.source for c in view.cells] == ["x = 1"] and len(nb.cells) == 3


@pytest.mark.parametrize("idea, expected", [(12, 12), ("12", 12), ("idea-7", "idea-7"), ("", None), (None, None)])
def test_an_idea_id_is_a_number_or_a_short_name(idea, expected):
    from backstage.gallery.submit import clean_idea

    assert clean_idea(idea) == expected


@pytest.mark.parametrize("idea", ["../1", "<script>", "x" * 80, True, [1], 1.5])
def test_a_hostile_idea_id_is_refused(idea):
    from backstage.gallery.submit import clean_idea

    with pytest.raises(SubmissionError, match="idea"):
        clean_idea(idea)
