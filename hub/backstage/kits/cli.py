"""`backstage kit list|build|mirror|enrol`: the hack-day organiser's command."""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path

from .build import build_handout
from .catalog import find_kit, list_kits
from .enrol import EnrolResult, event_group, post_enrol, read_attendees, read_token, write_credentials
from .errors import KitError
from .links import KitLinks
from .mirror import mirror_kit

log = logging.getLogger(__name__)


def _say(text: str = "") -> None:
    """Command output for the organiser (the CLI's own stdout, not library logging)."""
    sys.stdout.write(text + "\n")


def _repo_root(args) -> Path | None:
    return Path(args.repo_root).resolve() if args.repo_root else None


def cmd_list(args) -> int:
    kits = list_kits(_repo_root(args))
    if not kits:
        _say("No starter kits found.")
        return 1
    width = max(len(k.name) for k in kits)
    for kit in kits:
        _say(f"{kit.name:<{width}}  {kit.title}  ({kit.spec['duration']}; {len(kit.datasets)} datasets, "
             f"{len(kit.notebooks)} notebooks)")
    return 0


def cmd_build(args) -> int:
    kit = find_kit(args.kit, _repo_root(args))
    links = KitLinks(repo=args.repo, branch=args.branch, binder_url=args.binder_url) if args.repo else KitLinks(
        branch=args.branch, binder_url=args.binder_url
    )
    out = Path(args.out or f"kit-out/{kit.name}")
    handout = build_handout(kit, args.hub, out, links=links, pdf=not args.no_pdf,
                            allow_placeholder_repo=args.allow_placeholder_repo)
    _say(f"Hand-out for {kit.title!r} in {handout.folder}/")
    _say(f"  zip:        {handout.zip.name}")
    _say(f"  brief:      {handout.html.name}" + (f", {handout.pdf.name}" if handout.pdf else " (no PDF)"))
    _say(f"  lab link:   {handout.lab}  (opens the notebooks every home holds: no internet needed)")
    if handout.nbgitpuller:
        _say(f"  pull link:  {handout.nbgitpuller}")
        _say(f"  Binder:     {handout.binder}")
    else:
        _say("  no Binder or pull link: give --repo https://github.com/OWNER/REPO (a public copy) for them")
    return 0


def cmd_mirror(args) -> int:
    kit = find_kit(args.kit, _repo_root(args))
    files = mirror_kit(kit, Path(args.dir))
    for f in files:
        _say(f"{'copied' if f.copied else 'kept  '}  {f.path.name}  sha256 {f.sha256[:12]}…  ({f.dataset})")
    _say(f"Serve it with GOVDATA_MIRROR={Path(args.dir).resolve()} (or any web server over that folder).")
    return 0


def cmd_enrol(args) -> int:
    kit = find_kit(args.kit, _repo_root(args))
    group = event_group(args.event or kit.name)
    roster = read_attendees(Path(args.attendees))
    for bad in roster.bad:
        _say(f"skipped {args.attendees} {bad}")
    if args.check or not roster.good:
        _say(f"{len(roster.good)} row(s) ready, {len(roster.bad)} bad row(s); nothing sent.")
        return 0 if not roster.bad and roster.good else 2
    token = read_token(Path(args.token_file) if args.token_file else None)
    names = {a["username"]: a["name"] for a in roster.good}
    result = EnrolResult(group=group)
    try:
        post_enrol(args.hub, token, group, roster.good, roster.lines, result=result)
    except KitError:
        # batches that went through before the failure made accounts: keep their passwords
        saved = write_credentials(Path(args.out), group, args.hub, result.created, names)
        if saved:
            _say(f"{len(result.created)} account(s) were created before the error; their passwords are in {saved}.")
        raise
    creds = write_credentials(Path(args.out), group, args.hub, result.created, names)
    _say(f"Group {result.group}: {len(result.created)} account(s) created, {len(result.existing)} already existed "
         f"(added to the group), {len(roster.bad)} bad row(s) skipped.")
    if creds:
        _say(f"New passwords are in {creds} (readable only by you): print it, hand out the slips, then delete it.")
    return 2 if roster.bad else 0


def _run(func):
    def wrapped(args) -> int:
        try:
            return func(args)
        except KitError as err:
            log.debug("kit command failed", exc_info=True)
            sys.stderr.write(f"error: {err}\n")
            return 1

    return wrapped


def add_parser(subparsers) -> argparse.ArgumentParser:
    """Register ``backstage kit`` and its subcommands on the ``backstage`` parser."""
    kit = subparsers.add_parser("kit", help="hack-day starter kits: list, build hand-outs, mirror data, enrol attendees",
                                description=__doc__)
    kit.add_argument("--repo-root", help="repository holding starter_kits/ and notebooks/ (default: this checkout, "
                     "or $BACKSTAGE_REPO)")
    sub = kit.add_subparsers(dest="kit_command", required=True)

    p = sub.add_parser("list", help="list the starter kits")
    p.set_defaults(func=_run(cmd_list))

    p = sub.add_parser("build", help="write a hand-out folder: zip, HTML and PDF brief, the lab link (offline), "
                       "and with --repo the nbgitpuller and Binder links")
    p.add_argument("kit", help="kit name (see `backstage kit list`)")
    p.add_argument("--hub", required=True, help="the hub's public URL, e.g. https://lab.example.org")
    p.add_argument("--out", help="folder to write (default: kit-out/KIT)")
    p.add_argument("--repo", help="git URL for the nbgitpuller and Binder links (default: $BACKSTAGE_KIT_REPO, "
                   "else none: the lab link needs no repository)")
    p.add_argument("--allow-placeholder-repo", action="store_true",
                   help="build even though --repo is a placeholder (example.org, the project's placeholder URL), "
                   "e.g. for a dry run; its pull and Binder links will not work")
    p.add_argument("--branch", default="main", help="branch to pull (default: main)")
    p.add_argument("--binder-url", default="https://mybinder.org", help="BinderHub for the Binder link")
    p.add_argument("--no-pdf", action="store_true", help="skip printing the brief to PDF (no Chromium needed)")
    p.set_defaults(func=_run(cmd_build))

    p = sub.add_parser("mirror", help="copy the kit's datasets into DIR, verified by sha256 (GOVDATA_MIRROR=DIR)")
    p.add_argument("kit", help="kit name")
    p.add_argument("dir", help="folder to fill (created if missing)")
    p.set_defaults(func=_run(cmd_mirror))

    # allow_abbrev=False: `--token SECRET` must be an error, not an abbreviation of --token-file.
    p = sub.add_parser("enrol", help="create accounts for an attendees CSV in the event's group, via the hub API",
                       description="Token from $JUPYTERHUB_API_TOKEN or --token-file (never on the command line).",
                       allow_abbrev=False)
    p.add_argument("kit", help="kit name (the event group is event-KIT unless --event is given)")
    p.add_argument("attendees", help="CSV with a header row username,name,email")
    p.add_argument("--hub", default="http://127.0.0.1:8000", help="the hub's URL (default: http://127.0.0.1:8000)")
    p.add_argument("--token-file", help="file holding an organiser's hub token (default: $JUPYTERHUB_API_TOKEN)")
    p.add_argument("--event", help="event slug: the group is event-SLUG (default: the kit name)")
    p.add_argument("--out", default=".", help="folder for the new credentials CSV (mode 0600; default: here)")
    p.add_argument("--check", action="store_true", help="only check the CSV; send nothing")
    p.set_defaults(func=_run(cmd_enrol))
    return kit
