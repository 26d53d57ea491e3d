"""The `backstage` command: `backstage up` runs the lab, `backstage kit ...` serves organisers, `backstage data check` checks the data of published dashboards."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Each subcommand lives in its own module, which exposes `add_parser(subparsers)`; the parser it
# adds sets `func` (called with the parsed args, returning an exit code). Only the module of the
# chosen subcommand is imported, so `backstage up` does not pay for the kit tools' imports.
SUBCOMMANDS = {"up": "backstage.launcher", "kit": "backstage.kits.cli", "data": "backstage.commons.requests.datacheck"}


def build_parser(argv: list[str] | None = None) -> argparse.ArgumentParser:
    """The parser, with only the chosen subcommand's module loaded (all of them for help or a typo)."""
    parser = argparse.ArgumentParser(prog="backstage", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    subparsers = parser.add_subparsers(dest="command", required=True)
    chosen = next((arg for arg in (argv or []) if not arg.startswith("-")), None)
    for name, module_name in SUBCOMMANDS.items():
        if chosen in SUBCOMMANDS and name != chosen:
            subparsers.add_parser(name, help=f"see 'backstage {name} --help'")
            continue
        importlib.import_module(module_name).add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = build_parser(argv).parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
