"""Markdown in challenges and ideas is rendered inert: no script, no javascript: link, no event handler."""

from html.parser import HTMLParser

import pytest
from backstage.commons.catalog import check_datasets, describe
from backstage.commons.markdown import render
from backstage.commons.store import CommonsError

HOSTILE = [
    "<script>alert(1)</script>",
    "[click](javascript:alert(1))",
    "[click](JaVaScRiPt:alert(1))",
    '<img src=x onerror="alert(1)">',
    "<a href='javascript:alert(1)'>x</a>",
    "[x](data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==)",
    '<iframe src="https://example.org"></iframe>',
]


class _Elements(HTMLParser):
    """The elements and attributes a browser would build from the HTML (escaped text is just text)."""

    def __init__(self, html):
        super().__init__()
        self.found = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        self.found.append((tag, dict(attrs)))


@pytest.mark.parametrize("text", HOSTILE)
def test_hostile_markdown_is_inert(text):
    elements = _Elements(str(render(text))).found
    assert {tag for tag, _ in elements} <= {"p", "a"}
    for _, attrs in elements:
        assert set(attrs) <= {"href", "title"}
        assert not (attrs.get("href") or "").lower().startswith(("javascript", "data", "vbscript"))


def test_ordinary_markdown_keeps_its_formatting():
    html = str(render("**Bold** and [a link](https://www.gov.uk)\n\n- one\n- two"))
    assert "<strong>Bold</strong>" in html and '<a href="https://www.gov.uk">a link</a>' in html and "<li>one</li>" in html


def test_unknown_dataset_ids_are_refused_by_name_with_near_matches():
    with pytest.raises(CommonsError) as e:
        check_datasets(["imd-2019-lad21", "imd-2019-lad", "no-such-thing"])
    message = str(e.value)
    assert "'imd-2019-lad'" in message and "imd-2019-lad21" in message and "'no-such-thing'" in message
    assert check_datasets(["imd-2019-lad21", "imd-2019-lad21"]) == ["imd-2019-lad21"]
    with pytest.raises(CommonsError, match="list of govdata catalog ids"):
        check_datasets("imd-2019-lad21")


def test_datasets_are_described_with_their_licence_from_the_catalog():
    (d,) = describe(["imd-2019-lad21"])
    assert d["licence"] == "Open Government Licence v3.0" and d["licence_url"].startswith("https://")


def test_a_challenge_names_a_kit_of_this_lab_or_is_told_the_nearest():
    from backstage.commons.catalog import check_kit, describe_kit

    assert check_kit("clean-air") == "clean-air" and check_kit("") is None
    with pytest.raises(CommonsError, match="'clean-aer'.*Did you mean 'clean-air'"):
        check_kit("clean-aer")
    kit = describe_kit("clean-air", "http://localhost:8000/hub/")
    assert kit["title"].startswith("Clean air") and kit["open_url"].startswith(
        "http://localhost:8000/hub/user-redirect/lab/tree/notebooks/")
