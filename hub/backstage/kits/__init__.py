"""Hack-day starter kits: read and validate them, build hand-outs, mirror data, enrol attendees."""

from .build import Handout, build_handout
from .catalog import Kit, find_kit, list_kits, read_kit
from .errors import KitError
from .links import KitLinks
from .mirror import mirror_kit

__all__ = ["Handout", "Kit", "KitError", "KitLinks", "build_handout", "find_kit", "list_kits", "mirror_kit", "read_kit"]
