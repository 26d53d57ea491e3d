"""The one error the kit commands raise: its message names the problem and the fix."""


class KitError(Exception):
    """A kit, a CSV, a hub or a mirror problem the organiser can fix; the message says how."""
