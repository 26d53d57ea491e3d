"""Groups, custom scopes and roles of the lab, declared once (contract 2).

Least privilege: every signed-in person may use their own server, share it, and open the
"Share my server" page; the five groups may open the gallery; reviewers may review; organisers
(and the admin) may approve sign-ups and enrol attendees; organisers and officials post challenges
in the commons (``custom:commons:challenges``); stewards answer data requests
(``custom:commons:answer``). Nobody but an admin reaches another
person's server unless it was shared with them (a share grants ``access:servers`` on that one server).
"""

from __future__ import annotations

GROUPS = ("participants", "organisers", "reviewers", "officials", "stewards")
GALLERY_SERVICE = "gallery"
SHARE_SERVICE = "share"
COMMONS_SERVICE = "commons"
CULLER_SERVICE = "idle-culler"

REVIEW_SCOPE = "custom:gallery:review"
APPROVE_SIGNUPS_SCOPE = "custom:signups:approve"
ENROL_SCOPE = "custom:backstage:enrol"
CHALLENGES_SCOPE = "custom:commons:challenges"
ANSWER_SCOPE = "custom:commons:answer"

CUSTOM_SCOPES = {
    REVIEW_SCOPE: {
        "description": "Approve, reject and unpublish gallery submissions.",
    },
    APPROVE_SIGNUPS_SCOPE: {
        "description": "Approve or reject people who signed up to the lab.",
    },
    ENROL_SCOPE: {
        "description": "Enrol attendees of an event (create accounts and add them to the event's group).",
    },
    CHALLENGES_SCOPE: {
        "description": "Post challenges in the commons and answer the ideas proposed for them.",
    },
    ANSWER_SCOPE: {
        "description": "Answer data requests in the commons (as a data steward).",
    },
}

# Scopes the "Share my server" page may use with a visitor's own token (nothing else).
SHARE_PAGE_SCOPES = [
    f"access:services!service={SHARE_SERVICE}",
    "shares!user",
    "read:users:name",
    "read:groups:name",
]


def gallery_access_scope() -> str:
    """The scope that opens the gallery service (pages and API)."""
    return f"access:services!service={GALLERY_SERVICE}"


def load_groups() -> dict:
    """``c.JupyterHub.load_groups``: the lab's groups, created empty; membership lives in the database.

    Returns
    -------
    dict
        ``{group: {"users": []}}``; empty user lists never remove members added later.
    """
    return {name: {"users": []} for name in GROUPS}


def load_roles(admin_users=("admin",), culler: bool = True) -> list[dict]:
    """``c.JupyterHub.load_roles``: every role of the lab.

    Parameters
    ----------
    admin_users : iterable of str
        The hub's admin accounts; they also hold the lab's custom scopes.
    culler : bool
        Whether the idle culler service runs (its role names it).

    Returns
    -------
    list of dict
        Role models as JupyterHub expects them.
    """
    lab_roles = [
        {
            # JupyterHub's default role for every user, made explicit: own server, sharing it,
            # looking people and groups up by name (to share with them), the share page.
            "name": "user",
            "description": "Every signed-in person: their own server, sharing it, and the commons.",
            "scopes": ["self", "shares!user", "read:users:name", "read:groups:name",
                       f"access:services!service={SHARE_SERVICE}", f"access:services!service={COMMONS_SERVICE}"],
        },
        {
            "name": "gallery-visitor",
            "description": "Open the gallery and its dashboards.",
            "scopes": [gallery_access_scope()],
            "groups": list(GROUPS),
        },
        {
            "name": "reviewer",
            "description": "Approve, reject and unpublish gallery submissions.",
            "scopes": [REVIEW_SCOPE],
            "groups": ["reviewers"],
        },
        {
            "name": "organiser",
            "description": "Approve sign-ups and enrol event attendees.",
            "scopes": [APPROVE_SIGNUPS_SCOPE, ENROL_SCOPE],
            "groups": ["organisers"],
        },
        {
            "name": "challenger",
            "description": "Post challenges in the commons and answer their ideas.",
            "scopes": [CHALLENGES_SCOPE],
            "groups": ["organisers", "officials"],
        },
        {
            "name": "steward",
            "description": "Answer data requests in the commons.",
            "scopes": [ANSWER_SCOPE],
            "groups": ["stewards"],
        },
        {
            "name": "backstage-admin",
            "description": "The lab's own scopes for the admin (JupyterHub's admin role holds the rest).",
            "scopes": [REVIEW_SCOPE, APPROVE_SIGNUPS_SCOPE, ENROL_SCOPE, CHALLENGES_SCOPE, ANSWER_SCOPE,
                       gallery_access_scope()],
            "users": list(admin_users),
        },
        {
            "name": "commons-service",
            "description": "The commons reads the gallery's list of dashboards (lineage of ideas).",
            "scopes": [gallery_access_scope()],
            "services": [COMMONS_SERVICE],
        },
        {
            "name": "idle-culler",
            "description": "Cull idle servers: list people, read activity, stop servers.",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            "services": [CULLER_SERVICE],
        },
    ]
    return [r for r in lab_roles if culler or r["name"] != "idle-culler"]
