"""`backstage kit build`: everything an organiser hands out for one kit, in one folder."""

from __future__ import annotations

import json
import logging
import zipfile
from dataclasses import dataclass
from pathlib import Path

from tqdm.auto import tqdm

from .brief import brief_html, html_to_pdf
from .catalog import BRIEF_FILE, KIT_FILE, Kit
from .links import KitLinks

log = logging.getLogger(__name__)

# A fixed timestamp makes the zip byte-for-byte reproducible from the same sources.
_ZIP_DATE = (2024, 1, 1, 0, 0, 0)


@dataclass
class Handout:
    """What `build_handout` wrote."""

    folder: Path
    zip: Path
    html: Path
    pdf: Path | None
    links_file: Path
    nbgitpuller: str
    binder: str


def kit_members(kit: Kit) -> list[tuple[Path, str]]:
    """The files of the kit and their names inside the zip (``<kit>/kit.yaml``, ``<kit>/notebooks/...``).

    Inside the zip the notebooks keep their repository paths relative to the kit folder, so the
    ``notebooks:`` paths in ``kit.yaml`` stay true in the extracted copy.
    """
    members = [(kit.folder / KIT_FILE, f"{kit.name}/{KIT_FILE}"), (kit.folder / BRIEF_FILE, f"{kit.name}/{BRIEF_FILE}")]
    members += [(kit.repo_root / nb, f"{kit.name}/{nb}") for nb in kit.notebooks]
    return members


def write_zip(kit: Kit, zip_path: Path) -> Path:
    """Zip the kit's ``kit.yaml``, brief and notebooks (reproducibly)."""
    tmp = zip_path.with_suffix(".zip.part")
    with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for source, arcname in kit_members(kit):
            info = zipfile.ZipInfo(arcname, date_time=_ZIP_DATE)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            zf.writestr(info, source.read_bytes())
    tmp.replace(zip_path)
    return zip_path


def build_handout(kit: Kit, hub: str, out: Path, links: KitLinks | None = None, pdf: bool = True) -> Handout:
    """Write the kit's hand-out folder.

    Parameters
    ----------
    kit : Kit
    hub : str
        The hub's public URL (for the nbgitpuller link).
    out : pathlib.Path
        Folder to write into (created if missing). Files written: ``<kit>.zip``, ``<kit>-brief.html``,
        ``<kit>-brief.pdf``, ``links.txt`` and ``links.json``.
    links : KitLinks, optional
        Repository, branch and BinderHub settings.
    pdf : bool
        Print the brief to PDF with headless Chromium (default True).

    Returns
    -------
    Handout
    """
    links = links or KitLinks()
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    first = kit.notebooks[0]
    pull_link = links.nbgitpuller(hub, first)
    binder_link = links.binder(first)
    steps = ["zip", "html", "pdf", "links"] if pdf else ["zip", "html", "links"]
    result: dict[str, Path | None] = {"pdf": None}
    with tqdm(total=len(steps), desc=f"building {kit.name}", unit="step") as bar:
        for step in steps:
            bar.set_postfix_str(step)
            if step == "zip":
                result["zip"] = write_zip(kit, out / f"{kit.name}.zip")
            elif step == "html":
                html_file = out / f"{kit.name}-brief.html"
                page = brief_html(kit, {"In the lab (your hub account)": pull_link, "On Binder (no account)": binder_link})
                html_file.write_text(page, encoding="utf-8")
                result["html"] = html_file
            elif step == "pdf":
                result["pdf"] = html_to_pdf(result["html"], out / f"{kit.name}-brief.pdf")
            else:
                result["links"] = _write_links(out, kit, hub, links, pull_link, binder_link)
            bar.update(1)
    log.info("wrote the hand-out for %s to %s", kit.name, out)
    return Handout(
        folder=out,
        zip=result["zip"],
        html=result["html"],
        pdf=result["pdf"],
        links_file=result["links"],
        nbgitpuller=pull_link,
        binder=binder_link,
    )


def _write_links(out: Path, kit: Kit, hub: str, links: KitLinks, pull_link: str, binder_link: str) -> Path:
    data = {
        "kit": kit.name,
        "title": kit.title,
        "hub": hub,
        "repo": links.repo,
        "branch": links.branch,
        "nbgitpuller": pull_link,
        "binder": binder_link,
        "notebooks": {nb: links.nbgitpuller(hub, nb) for nb in kit.notebooks},
    }
    (out / "links.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    text = (
        f"{kit.title}\n\n"
        f"In the lab (sign in to {hub} first; pulls the kit into your home and opens it):\n{pull_link}\n\n"
        f"On Binder (no account needed; slower to start, nothing is saved):\n{binder_link}\n"
    )
    path = out / "links.txt"
    path.write_text(text, encoding="utf-8")
    return path
