"""Roles an approver may give on the sign-ups page (``/hub/signups``), each a group of the lab.

Least privilege: an organiser may make people participants, officials, reviewers or stewards (none
of which may approve sign-ups, give roles or enrol people); only the admin makes organisers, since an
organiser can give roles and enrol people.
"""

from __future__ import annotations

__all__ = ["ORGANISER_MAY_GRANT", "ROLE_GROUPS", "grantable_roles"]

ROLE_GROUPS = {
    "participant": "participants",
    "official": "officials",
    "reviewer": "reviewers",
    "steward": "stewards",
    "organiser": "organisers",
}
ORGANISER_MAY_GRANT = ("participant", "official", "reviewer", "steward")


def grantable_roles(is_admin: bool) -> list[str]:
    """The roles (keys of ``ROLE_GROUPS``) an approver may give: all for the admin, else an organiser's.

    Examples
    --------
    >>> grantable_roles(False)
    ['participant', 'official', 'reviewer', 'steward']
    """
    return list(ROLE_GROUPS) if is_admin else list(ORGANISER_MAY_GRANT)
