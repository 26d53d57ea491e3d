"""`backstage kit build`: the real command writes a zip, an HTML and a PDF brief (Chromium) and the links."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pypdf
import pytest
import yaml
from backstage.kits import KitLinks, build_handout, read_kit

BACKSTAGE = Path(sys.executable).with_name("backstage")


def run_backstage(*args, env=None, cwd=None):
    return subprocess.run(
        [str(BACKSTAGE), *args], capture_output=True, text=True, timeout=180, env=env, cwd=cwd, check=False
    )


def run_kit(capsys, *args) -> tuple[int, str, str]:
    """Run `backstage kit ...` in this process (the CLI's imports cost ~5 s per subprocess)."""
    from backstage.cli import main

    capsys.readouterr()
    code = main(["kit", *args])
    out, err = capsys.readouterr()
    return code, out, err


def pdf_text(path: Path) -> str:
    return " ".join(page.extract_text() for page in pypdf.PdfReader(path).pages)


def test_kit_list_names_every_kit(capsys):
    code, out, err = run_kit(capsys, "list")
    assert code == 0, err
    names = [line.split()[0] for line in out.splitlines()]
    assert names == ["clean-air", "gaps-between-places", "safer-roads-gm"]
    assert "Safer roads in Greater Manchester" in out


def test_build_writes_the_whole_handout_for_a_hub(tmp_path, repo):
    out = tmp_path / "handout"
    r = run_backstage(
        "kit", "build", "safer-roads-gm", "--hub", "https://lab.example.org", "--out", str(out),
        "--repo", "https://github.com/acme/backstage", "--branch", "hackday",
    )
    assert r.returncode == 0, r.stderr
    assert sorted(p.name for p in out.iterdir()) == [
        "links.json", "links.txt", "safer-roads-gm-brief.html", "safer-roads-gm-brief.pdf", "safer-roads-gm.zip",
    ]
    kit = read_kit(repo / "starter_kits/safer-roads-gm", repo)

    # the zip: kit.yaml, brief and the notebooks, byte for byte, at the paths kit.yaml names
    with zipfile.ZipFile(out / "safer-roads-gm.zip") as zf:
        assert zf.testzip() is None
        names = zf.namelist()
        assert names == ["safer-roads-gm/kit.yaml", "safer-roads-gm/brief.md"] + [f"safer-roads-gm/{nb}" for nb in kit.notebooks]
        for nb in kit.notebooks:
            assert zf.read(f"safer-roads-gm/{nb}") == (repo / nb).read_bytes()
        assert yaml.safe_load(zf.read("safer-roads-gm/kit.yaml")) == kit.spec

    # the links: the lab's own copy (no internet), nbgitpuller for this hub and repo, and Binder
    links = json.loads((out / "links.json").read_text())
    assert links["lab"] == "https://lab.example.org/hub/user-redirect/lab/tree/notebooks/01-welcome.ipynb"
    assert links["lab"] in r.stdout
    pull = urlsplit(links["nbgitpuller"])
    assert pull.netloc == "lab.example.org" and pull.path == "/hub/user-redirect/git-pull"
    assert parse_qs(pull.query) == {
        "repo": ["https://github.com/acme/backstage"], "branch": ["hackday"],
        "urlpath": ["lab/tree/backstage/notebooks/01-welcome.ipynb"],
    }
    assert links["binder"].startswith("https://mybinder.org/v2/gh/acme/backstage/hackday?urlpath=")
    assert links["nbgitpuller"] in r.stdout and links["binder"] in r.stdout

    # the brief, as HTML: self-contained (nothing fetched from elsewhere) and carrying the links
    page = (out / "safer-roads-gm-brief.html").read_text()
    assert "<title>Safer roads in Greater Manchester</title>" in page
    assert "<script" not in page and "<link" not in page and "cdn" not in page.lower()
    assert links["lab"] in page and "git-pull" not in page
    # a QR code (inline SVG) beside each link, for phones in the room
    assert page.count('<svg') == 2 and page.count('class="qr"') == 2
    assert "<title>QR code: In the lab (your hub account)</title>" in page
    for question in kit.spec["challenges"]:
        assert question.replace("'", "&#x27;") in page

    # the brief, as PDF: a real PDF whose text has the title and a challenge question
    pdf = out / "safer-roads-gm-brief.pdf"
    assert pdf.read_bytes()[:5] == b"%PDF-"
    text = " ".join(pdf_text(pdf).split())
    assert "Safer roads in Greater Manchester" in text
    assert "Handle with care" in text
    assert "per 100,000 residents" in text


def test_the_brief_escapes_html_in_the_kit_and_in_the_markdown(tmp_path, repo):
    root = tmp_path / "repo"
    shutil.copytree(repo / "starter_kits/clean-air", root / "starter_kits/clean-air")
    shutil.copytree(repo / "notebooks", root / "notebooks")
    kit_file = root / "starter_kits/clean-air/kit.yaml"
    spec = yaml.safe_load(kit_file.read_text())
    spec["title"] = "Air <script>alert('t')</script> & more"
    kit_file.write_text(yaml.safe_dump(spec))
    (root / "starter_kits/clean-air/brief.md").write_text(
        "## Plan\n\n<img src=x onerror=alert(1)>\n\n[click](javascript:alert(2))\n"
    )
    kit = read_kit(root / "starter_kits/clean-air", root)
    handout = build_handout(kit, "https://lab.example.org", tmp_path / "out", links=KitLinks(repo="https://github.com/a/b"))
    page = handout.html.read_text()
    assert "<script>" not in page and "<img" not in page and 'href="javascript:' not in page
    assert "Air &lt;script&gt;alert(&#x27;t&#x27;)&lt;/script&gt; &amp; more" in page
    assert "Air <script>alert('t')</script> & more" in " ".join(pdf_text(handout.pdf).split())


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["build", "saferroads", "--hub", "https://x.org"], "Did you mean 'safer-roads-gm'"),
        (["build", "clean-air", "--hub", "lab.example.org", "--no-pdf"], "is not the address of a hub"),
        (["build", "clean-air", "--hub", "https://x.org", "--repo", "nope", "--no-pdf"], "is not a git URL"),
        (["build", "clean-air", "--hub", "https://x.org", "--no-pdf", "--repo",
          "https://github.com/government-backstage/government-backstage"], "--allow-placeholder-repo"),
        (["build", "clean-air", "--hub", "https://x.org", "--no-pdf", "--repo", "https://example.org/kits"],
         "is a placeholder"),
        (["mirror", "cleanair", "somewhere"], "Did you mean 'clean-air'"),
    ],
)
def test_organiser_mistakes_exit_1_with_a_clear_error(capsys, args, message):
    code, _, err = run_kit(capsys, *args)
    assert code == 1
    assert message in err
    assert "Traceback" not in err


def test_pdf_needs_chromium_and_says_so(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("PATH", str(tmp_path))  # no chromium on PATH
    code, _, err = run_kit(capsys, "build", "clean-air", "--hub", "https://x.org", "--out", str(tmp_path / "o"))
    assert code == 1
    assert "Chromium is needed to print the brief to PDF" in err and "--no-pdf" in err
    code, _, err = run_kit(capsys, "build", "clean-air", "--hub", "https://x.org", "--out", str(tmp_path / "o"), "--no-pdf")
    assert code == 0, err
    assert not (tmp_path / "o/clean-air-brief.pdf").exists() and (tmp_path / "o/clean-air.zip").exists()


def test_without_a_repository_the_handout_carries_the_lab_link_only(tmp_path, capsys, monkeypatch):
    monkeypatch.delenv("BACKSTAGE_KIT_REPO", raising=False)
    out = tmp_path / "o"
    code, stdout, err = run_kit(capsys, "build", "clean-air", "--hub", "http://127.0.0.1:8000", "--out", str(out),
                                "--no-pdf")
    assert code == 0, err
    links = json.loads((out / "links.json").read_text())
    assert links["lab"] == "http://127.0.0.1:8000/hub/user-redirect/lab/tree/notebooks/01-welcome.ipynb"
    assert links["nbgitpuller"] is None and links["binder"] is None and links["repo"] is None
    assert "give --repo" in stdout
    page = (out / "clean-air-brief.html").read_text()
    assert page.count('class="qr"') == 1 and links["lab"] in page and "mybinder" not in page


def test_a_placeholder_repository_builds_only_when_told_to(tmp_path, capsys):
    placeholder = ["--repo", "https://github.com/government-backstage/government-backstage"]
    code, _, err = run_kit(capsys, "build", "clean-air", "--hub", "https://x.org", "--out", str(tmp_path / "a"),
                           "--no-pdf", *placeholder)
    assert code == 1 and "is a placeholder" in err and not (tmp_path / "a").exists()
    code, _, err = run_kit(capsys, "build", "clean-air", "--hub", "https://x.org", "--out", str(tmp_path / "b"),
                           "--no-pdf", *placeholder, "--allow-placeholder-repo")
    assert code == 0, err
    assert json.loads((tmp_path / "b/links.json").read_text())["binder"].startswith("https://mybinder.org/v2/gh/")
