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
    lab: str
    nbgitpuller: str | None
    binder: str | None


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


def build_handout(kit: Kit, hub: str, out: Path, links: KitLinks | None = None, pdf: bool = True,
                  allow_placeholder_repo: bool = False) -> Handout:
    """Write the kit's hand-out folder.

    Its lab link opens the kit's first notebook from the copy every home already holds (the lab's starter
    notebooks), so it works with no internet. With a repository (``links.repo``), the hand-out also
    carries an nbgitpuller link (pull the kit from that repository) and a Binder link.

    Parameters
    ----------
    kit : Kit
    hub : str
        The hub's public URL (for the lab link and the nbgitpuller link).
    out : pathlib.Path
        Folder to write into (created if missing). Files written: ``<kit>.zip``, ``<kit>-brief.html``,
        ``<kit>-brief.pdf``, ``links.txt`` and ``links.json``.
    links : KitLinks, optional
        Repository, branch and BinderHub settings.
    pdf : bool
        Print the brief to PDF with headless Chromium (default True).
    allow_placeholder_repo : bool
        Build even when ``links.repo`` is a placeholder (``KitError`` otherwise, naming the fix).

    Returns
    -------
    Handout
    """
    links = links or KitLinks()
    if not allow_placeholder_repo:
        links.check_not_placeholder()
    first = kit.notebooks[0]
    lab_link = links.lab(hub, first)
    pull_link = links.nbgitpuller(hub, first) if links.repo else None
    binder_link = links.binder(first) if links.repo else None
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    steps = ["zip", "html", "pdf", "links"] if pdf else ["zip", "html", "links"]
    result: dict[str, Path | None] = {"pdf": None}
    with tqdm(total=len(steps), desc=f"building {kit.name}", unit="step") as bar:
        for step in steps:
            bar.set_postfix_str(step)
            if step == "zip":
                result["zip"] = write_zip(kit, out / f"{kit.name}.zip")
            elif step == "html":
                html_file = out / f"{kit.name}-brief.html"
                starts = {"In the lab (your hub account)": lab_link}
                if binder_link:
                    starts["On Binder (no account)"] = binder_link
                page = brief_html(kit, starts)
                html_file.write_text(page, encoding="utf-8")
                result["html"] = html_file
            elif step == "pdf":
                result["pdf"] = html_to_pdf(result["html"], out / f"{kit.name}-brief.pdf")
            else:
                result["links"] = _write_links(out, kit, hub, links, lab_link, pull_link, binder_link)
            bar.update(1)
    log.info("wrote the hand-out for %s to %s", kit.name, out)
    return Handout(
        folder=out,
        zip=result["zip"],
        html=result["html"],
        pdf=result["pdf"],
        links_file=result["links"],
        lab=lab_link,
        nbgitpuller=pull_link,
        binder=binder_link,
    )


def _write_links(out: Path, kit: Kit, hub: str, links: KitLinks, lab_link: str, pull_link: str | None,
                 binder_link: str | None) -> Path:
    data = {
        "kit": kit.name,
        "title": kit.title,
        "hub": hub,
        "lab": lab_link,
        "repo": links.repo or None,
        "branch": links.branch if links.repo else None,
        "nbgitpuller": pull_link,
        "binder": binder_link,
        "notebooks": {nb: links.lab(hub, nb) for nb in kit.notebooks},
    }
    (out / "links.json").write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")
    text = f"{kit.title}\n\nIn the lab (sign in to {hub}; opens the kit's notebooks in your home, no internet needed):\n{lab_link}\n"
    if pull_link:
        text += f"\nPull the kit fresh from {links.repo} into your home (the lab needs to reach it):\n{pull_link}\n"
    if binder_link:
        text += f"\nOn Binder (no account needed; slower to start, nothing is saved):\n{binder_link}\n"
    path = out / "links.txt"
    path.write_text(text, encoding="utf-8")
    return path
