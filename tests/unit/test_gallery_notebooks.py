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
    ("not json", "not valid JSON"),
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
