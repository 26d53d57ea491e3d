"""The `backstage` command: `backstage up` runs the lab, `backstage kit ...` serves organisers."""

from __future__ import annotations

import argparse
import importlib
import logging
import sys

# Each subcommand lives in its own module, which exposes `add_parser(subparsers)`; the parser it
# adds sets `func` (called with the parsed args, returning an exit code).
SUBCOMMAND_MODULES = ("backstage.launcher", "backstage.kits.cli")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="backstage", description=__doc__)
    parser.add_argument("-v", "--verbose", action="store_true", help="log debugging detail")
    subparsers = parser.add_subparsers(dest="command", required=True)
    for module_name in SUBCOMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as e:
            if e.name != module_name:
                raise
            continue
        module.add_parser(subparsers)
    return parser


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    return int(args.func(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
