"""Remix in my lab on the real lab: a participant's journey through the pages in Chromium (the copy in their home
re-runs offline to the same outputs with nbval, and its submission shows what it is based on), then over HTTP the
gallery's notebook API, the copy made by the person's own server, and the hostile cases (names, versions, XSRF,
another person's server, people without a lab, anonymous visitors, a forged claim)."""

from __future__ import annotations

import json
import os
import pwd
import re
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import quote, urlparse

import nbformat
import pytest
import requests
from backstage_testing.contexts import chromium, person_page
from backstage_testing.journeys import (
    WIDGET,
    approve_by_api,
    open_gallery_signed_in,
    people,
    submit_by_api,
    wait_checked,
)

pytestmark = pytest.mark.integration
v4 = nbformat.v4


def auth(token: str) -> dict:
    return {"Authorization": f"token {token}"}


@pytest.fixture(scope="module")
def dashboard(lab):
    """A published dashboard (v1) with a cell for its author only, a second version waiting for review, and people."""
    suffix = uuid.uuid4().hex[:4]
    people = {role: lab.create_user(f"rx{role}{suffix}", groups=(group,)) for role, group in
              (("author", "participants"), ("remixer", "participants"), ("other", "participants"),
               ("reviewer", "reviewers"), ("official", "officials"))}
    tokens = {role: lab.token_for(s.username) for role, s in people.items()}
    title = f"Remix me {suffix}"
    nb = v4.new_notebook(cells=[v4.new_markdown_cell("# Sums"),
                                v4.new_markdown_cell("Author's notes", metadata={"tags": ["author-only"]}),
                                v4.new_code_cell("sum(range(10))")])
    first = submit_by_api(lab, tokens["author"], title, json.loads(nbformat.writes(nb)))
    assert wait_checked(lab, tokens["author"], first)["status"] == "awaiting-review"
    slug = approve_by_api(lab, tokens["reviewer"], first)["slug"]
    waiting = submit_by_api(lab, tokens["author"], title, json.loads(nbformat.writes(nb)))
    for role in ("remixer", "other"):
        lab.spawn(people[role])
    return {"people": people, "tokens": tokens, "title": title, "slug": slug, "waiting": waiting}


PINNED = "import govdata\npopulation = govdata.load('ons-population-mid2021')\nf'{len(population)} areas'"
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def map_of_people(lab, shared_datasets):
    """A published dashboard that loads a pinned dataset and has a widget; its author, reviewer and a participant."""
    team = people(lab, author="participants", reviewer="reviewers", remixer="participants")
    title = f"People by area {team['author']['name'][-4:]}"
    nb = v4.new_notebook(cells=[v4.new_markdown_cell("# People by area"),
                                v4.new_markdown_cell("Tutorial for me", metadata={"tags": ["author-only"]}),
                                v4.new_code_cell(PINNED), v4.new_code_cell(WIDGET)])
    submission = submit_by_api(lab, team["author"]["token"], title, json.loads(nbformat.writes(nb)))
    assert wait_checked(lab, team["author"]["token"], submission)["status"] == "awaiting-review"
    slug = approve_by_api(lab, team["reviewer"]["token"], submission)["slug"]
    lab.spawn(lab.login(team["remixer"]["name"], team["remixer"]["password"]))  # their lab is open, as when building
    return {"people": team, "title": title, "slug": slug}


@pytest.fixture(scope="module")
def browser():
    with chromium() as running:
        yield running


def _read_settled(path: Path, timeout: float = 60) -> nbformat.NotebookNode:
    """The notebook at *path*, read between two saves (JupyterLab's collaboration saves a notebook it opens, and
    jupyter_server rewrites a file in place: a read can meet it empty)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return nbformat.read(path, as_version=4)
        except (ValueError, nbformat.reader.NotJSONError):
            if time.monotonic() > deadline:
                raise
            time.sleep(0.5)


def _confirm_and_land(page, title: str, version: int, name: str) -> str:
    """On the person's own server: confirm the copy, land in JupyterLab on it; return the file's path."""
    page.get_by_role("heading", name=f"Copy “{title}” v{version} into your lab?").wait_for()
    page.get_by_role("button", name="Copy into my lab").click()
    page.wait_for_url(re.compile(rf"/user/{name}/lab/tree/remixes/[a-z0-9-]+\.ipynb$"), timeout=120_000)
    landed = page.url  # read now: JupyterLab's router may rewrite the address once it has loaded
    # the copy's note, in the notebook shown (JupyterLab keeps an earlier copy open in a hidden tab)
    page.locator(".jp-MarkdownOutput:visible", has_text="Based on").first.wait_for(timeout=120_000)
    return "remixes/" + landed.rsplit("/remixes/", 1)[1]


@pytest.mark.browser
@pytest.mark.timeout(900)  # a dashboard checked and published, a lab, JupyterLab twice, nbval, a second check
def test_a_participant_remixes_a_dashboard_into_their_lab_reruns_it_offline_and_submits_it(
        lab, map_of_people, browser, shared_datasets, tmp_path):
    person, title, slug = map_of_people["people"]["remixer"], map_of_people["title"], map_of_people["slug"]
    page = person_page(browser)
    open_gallery_signed_in(page, lab, person)
    page.get_by_role("link", name=title, exact=True).click()
    page.locator("header.backstage-header").get_by_role("link", name="Remix in my lab").click()
    first = _confirm_and_land(page, title, 1, person["name"])
    assert first == f"remixes/{slug}-v1.ipynb"

    home = _home(lab, person["name"])
    copy = home / first
    assert copy.stat().st_uid == pwd.getpwnam(home.name).pw_uid
    nb = _read_settled(copy)
    based_on = nb.metadata["backstage"]["based_on"]
    assert (based_on["slug"], based_on["version"], based_on["title"]) == (slug, 1, title)
    assert based_on["datasets"] == ["ons-population-mid2021"] and "Tutorial for me" not in copy.read_text()
    assert nb.cells[2].outputs[0]["data"]["text/plain"] == "'420 areas'"  # the gallery's run, offline

    # the copy re-runs offline (the shared mirror) to the outputs it came with: strict nbval, ids sanitised
    (tmp_path / "run").mkdir()
    nbformat.write(nb, tmp_path / "run" / "copy.ipynb")
    env = {**os.environ, "GOVDATA_MIRROR": str(shared_datasets), "GOVDATA_CACHE": str(tmp_path / "cache")}
    nbval = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "--nbval",
                            "--sanitize-with", str(REPO / "tests/nbval_sanitize.cfg"), "copy.ipynb"],
                           cwd=tmp_path / "run", env=env, capture_output=True, text=True, timeout=600)
    assert nbval.returncode == 0 and nbval.stdout.strip().splitlines()[-1].startswith("2 passed"), nbval.stdout[-4000:]

    # submitted from the gallery's Submit page, it shows what it is based on
    gallery = lab.service_url("gallery")
    page.goto(gallery)
    page.get_by_role("link", name="Submit a notebook").first.click()
    page.get_by_label("Notebook on your server").select_option(first)
    page.get_by_label("Title").fill(f"My {title}")
    page.get_by_label("Summary").fill("The same, by region")
    page.get_by_role("button", name="Submit for review").click()
    page.get_by_role("heading", name=f"My {title}").wait_for()
    submission_url = page.url
    based = page.get_by_role("link", name=f"{title} v1")
    assert based.get_attribute("href").endswith(f"dashboards/{slug}")

    # the original counts one remix; a second remix, from its card, is a second file
    page.goto(gallery)
    card = page.locator(".gallery-card", has=page.get_by_role("link", name=title, exact=True))
    assert "Remixed by 1 person" in card.inner_text()
    card.get_by_role("link", name=re.compile(rf"^Remix in my lab ?: {re.escape(title)}$")).click()
    assert _confirm_and_land(page, title, 1, person["name"]) == f"remixes/{slug}-v1-2.ipynb"
    submitted = re.search(r"submissions/([0-9a-f]{32})", submission_url).group(1)
    assert wait_checked(lab, person["token"], submitted)["status"] == "awaiting-review"  # it runs as the original did


def _api(lab, token, path):
    return requests.get(f"{lab.service_url('gallery')}api/dashboards/{path}", headers=auth(token), timeout=60)


def _remix_page(lab, session, query: str):
    """Follow the gallery's link: the hub sends the person to their own server's remix page (through its OAuth)."""
    return session.get(f"{lab.url}/hub/user-redirect/backstage/remix?{query}", timeout=60)


def _server_xsrf(session, name: str) -> str:
    return next(c.value for c in session.cookies if c.name == "_xsrf" and c.path.startswith(f"/user/{name}"))


def _signed_in_to_the_gallery(lab, session):
    """*session*, signed in to the gallery through the hub's OAuth (a page that needs a person: 'My submissions')."""
    r = session.get(f"{lab.service_url('gallery')}mine", timeout=60)
    assert r.status_code == 200 and "/hub/login" not in r.url, r.url
    return session


def _home(lab, name: str) -> Path:
    homes = [p for p in (lab.state_dir / "homes").iterdir() if p.name == name or p.name.endswith(f"-{name}")]
    assert len(homes) == 1, homes
    return homes[0]


def test_the_gallery_hands_out_an_approved_version_with_its_note_and_counts_each_person_once(lab, dashboard):
    slug, token = dashboard["slug"], dashboard["tokens"]["remixer"]
    info = _api(lab, token, f"{slug}/versions/1")
    assert info.status_code == 200, info.text
    assert info.json()["title"] == dashboard["title"] and info.json()["remixes"] == 0
    assert info.json()["url"] == f"{lab.service_url('gallery')}dashboards/{slug}"

    r = _api(lab, token, f"{slug}/versions/1/notebook")
    assert r.status_code == 200, r.text
    nb = nbformat.from_dict(r.json())
    nbformat.validate(nb)
    assert nb.cells[0].source.startswith(f"*Based on [{dashboard['title']}]({info.json()['url']}) v1 by")
    assert "Author's notes" not in json.dumps(r.json())
    assert nb.cells[-1].outputs[0]["data"]["text/plain"] == "45"  # the gallery's own run of the snapshot
    assert nb.metadata["backstage"]["based_on"]["slug"] == slug
    assert _api(lab, token, f"{slug}/versions/1").json()["remixes"] == 1
    _api(lab, token, f"{slug}/versions/1/notebook")
    assert _api(lab, token, f"{slug}/versions/1").json()["remixes"] == 1  # once per person


@pytest.mark.parametrize(("slug", "version", "status"), [
    ("..", "1", 400), ("../../hub", "1", 400), ("BIG", "1", 400), ("a" * 64, "1", 400), ("<b>x</b>", "1", 400),
    (None, "0", 400), (None, "-1", 400), (None, "1.5", 400), (None, "9" * 30, 400), (None, "\x00", 400),
    (None, "2", 404),  # waiting for review: never approved
    (None, "999999", 404), ("no-such-dashboard", "1", 404),
])
def test_hostile_or_unknown_names_and_versions_get_a_clear_400_or_404(lab, dashboard, slug, version, status):
    slug = slug or dashboard["slug"]
    r = _api(lab, dashboard["tokens"]["remixer"], f"{quote(slug, safe='')}/versions/{quote(version, safe='')}/notebook")
    if slug == "..":  # the proxy resolves an encoded '..' in a path before the gallery sees it
        assert r.status_code == 404 and "no such page" in r.text, r.text[:300]
    else:
        assert r.status_code == status, r.text
        assert "Remix in my lab" in r.json()["error"]  # says what to do
    # the person's own server says so on its page, before asking the gallery anything when the name is wrong
    page = requests.get(lab.user_url(dashboard["people"]["remixer"].username) + "/backstage/remix",
                        params={"dashboard": slug, "version": version}, headers=auth(dashboard["tokens"]["remixer"]),
                        timeout=60)
    assert page.status_code == status, page.text[:500]
    assert "Remix in my lab" in page.text and "<b>x</b>" not in page.text


def test_the_copy_is_written_by_the_owners_server_into_their_home_never_over_a_file_nor_through_a_link(lab, dashboard):
    session, slug = dashboard["people"]["remixer"], dashboard["slug"]
    name = session.username
    page = _remix_page(lab, session, f"dashboard={slug}&version=1")
    assert page.status_code == 200 and urlparse(page.url).path == f"/user/{name}/backstage/remix", page.url
    assert f"Copy “{dashboard['title']}” v1 into your lab?" in page.text
    home = _home(lab, name)
    (home / "remixes").mkdir(exist_ok=True)
    os.chown(home / "remixes", home.stat().st_uid, home.stat().st_gid)
    outside = lab.state_dir / f"planted-{uuid.uuid4().hex[:6]}"
    os.symlink(outside, home / "remixes" / f"{slug}-v1-2.ipynb")  # a link named like the second copy

    landed = []
    for _ in range(2):
        r = session.post(page.url.split("?")[0], data={"_xsrf": _server_xsrf(session, name), "dashboard": slug,
                                                       "version": "1"}, allow_redirects=False, timeout=60)
        assert r.status_code == 302, r.text[:500]
        landed.append(r.headers["Location"])
    assert landed == [f"/user/{name}/lab/tree/remixes/{quote(slug)}-v1.ipynb",
                      f"/user/{name}/lab/tree/remixes/{quote(slug)}-v1-3.ipynb"]
    assert not outside.exists()
    copy = home / "remixes" / f"{slug}-v1.ipynb"
    assert copy.stat().st_uid == pwd.getpwnam(home.name).pw_uid  # written as the person, by their server
    nb = nbformat.read(copy, as_version=4)
    assert nb.metadata["backstage"]["based_on"]["version"] == 1 and nb.cells[-1].source == "sum(range(10))"


def test_a_post_without_xsrf_or_on_another_persons_server_is_refused_and_writes_nothing(lab, dashboard):
    owner, other, slug = dashboard["people"]["remixer"], dashboard["people"]["other"], dashboard["slug"]
    remixes = _home(lab, owner.username) / "remixes"
    before = sorted(p.name for p in remixes.iterdir()) if remixes.exists() else []
    url = lab.user_url(owner.username) + "/backstage/remix"
    _remix_page(lab, owner, f"dashboard={slug}&version=1")
    forged = owner.post(url, data={"dashboard": slug, "version": "1"}, allow_redirects=False, timeout=60)
    assert forged.status_code == 403, forged.text[:300]
    # another participant, signed in, following a link to the first one's server; and with their own token
    _remix_page(lab, other, f"dashboard={slug}&version=1")
    theirs = other.get(url, params={"dashboard": slug, "version": "1"}, timeout=60)
    assert theirs.status_code == 403 and urlparse(theirs.url).hostname == urlparse(lab.url).hostname, theirs.url
    token = requests.post(url, data={"dashboard": slug, "version": "1"}, headers=auth(dashboard["tokens"]["other"]),
                          allow_redirects=False, timeout=60)
    assert token.status_code in (302, 403) and "/backstage/remix" not in token.headers.get("Location", "")
    assert (sorted(p.name for p in remixes.iterdir()) if remixes.exists() else []) == before


def test_an_official_is_told_why_there_is_no_lab_and_an_anonymous_visitor_is_asked_to_sign_in(lab, dashboard):
    gallery, slug = lab.service_url("gallery"), dashboard["slug"]
    official = _signed_in_to_the_gallery(lab, dashboard["people"]["official"])
    assert "Remix in my lab" not in official.get(gallery, timeout=60).text
    # nor on the dashboard's own page (the walk found the header offering it to an official)
    assert "Remix in my lab" not in official.get(f"{gallery}dashboards/{slug}", timeout=120).text
    page = official.get(f"{gallery}remix/{slug}/1", timeout=60)
    assert page.status_code == 200 and "Remix needs a lab of your own" in page.text
    participant = _signed_in_to_the_gallery(lab, dashboard["people"]["remixer"])
    assert "Remix in my lab" in participant.get(gallery, timeout=60).text
    assert "Remix in my lab" in participant.get(f"{gallery}dashboards/{slug}", timeout=120).text
    onward = participant.get(f"{gallery}remix/{slug}/1", allow_redirects=False, timeout=60)
    assert onward.status_code == 302
    assert onward.headers["Location"] == f"{lab.url}/hub/user-redirect/backstage/remix?dashboard={slug}&version=1"

    anonymous = requests.get(f"{gallery}remix/{slug}/1", allow_redirects=False, timeout=60)
    assert anonymous.status_code == 302 and "oauth2/authorize" in anonymous.headers["Location"]
    assert requests.get(f"{gallery}api/dashboards/{slug}/versions/1/notebook", timeout=60).status_code == 403


def test_a_submitted_copy_shows_what_it_is_based_on_and_a_forged_claim_shows_nothing(lab, dashboard):
    token, slug = dashboard["tokens"]["other"], dashboard["slug"]
    copy = _api(lab, token, f"{slug}/versions/1/notebook").json()
    copy["metadata"]["backstage"]["based_on"]["title"] = "<script>alert(1)</script>"  # the gallery's title is shown
    remixed = submit_by_api(lab, token, f"My sums {uuid.uuid4().hex[:4]}", copy)
    other = _signed_in_to_the_gallery(lab, dashboard["people"]["other"])
    page = other.get(f"{lab.service_url('gallery')}submissions/{remixed}", timeout=60).text
    assert f'>{dashboard["title"]} v1</a>' in page and "Based on" in page and "<script>alert" not in page
    forged = json.loads(json.dumps(copy))
    forged["metadata"]["backstage"]["based_on"]["version"] = 2  # not approved
    unfounded = submit_by_api(lab, token, f"Forged {uuid.uuid4().hex[:4]}", forged)
    assert "Based on" not in other.get(f"{lab.service_url('gallery')}submissions/{unfounded}", timeout=60).text
    for submission in (remixed, unfounded):  # a remix is checked as any submission (and the lab stops between checks)
        assert wait_checked(lab, token, submission)["status"] == "awaiting-review"
