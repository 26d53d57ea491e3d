"""Site settings of the lab: defaults ▸ the site's YAML file ▸ what the launcher decided at start-up.

Like The Littlest JupyterHub, the site file is validated by a JSON Schema and a mistake is reported
with the file, the key and the fix, before anything starts.
"""

from __future__ import annotations

import copy
import functools
import json
import logging
import os
from pathlib import Path

import fastjsonschema
import yaml

log = logging.getLogger(__name__)

__all__ = ["DEFAULTS", "SCHEMA", "SettingsError", "load_settings", "settings_path", "validate_settings"]

AUTH_MODES = ("signup", "open-signup", "shared-password", "oauthenticator", "oidc")
OIDC_REQUIRED = ("issuer", "client_id")

DEFAULTS: dict = {
    "state_dir": ".backstage",
    "ip": "127.0.0.1",
    "port": 8000,
    "auth": {
        "mode": "signup",
        "event_password": None,
        "authenticator_class": None,
        "min_password_length": 8,
    },
    "admin_users": ["admin"],
    "idle_timeout": 3600,
    "mem_limit": None,
    "start_limit": None,  # servers starting at once; None: 2 per CPU core (backstage.spawner)
    "warm_servers": None,  # servers kept started ahead of time for a hack day; None: $BACKSTAGE_WARM_SERVERS or 0
    "user_prefix": "bk-",
    "isolation": "auto",
    "internal_ports": {"hub": 8081, "proxy_api": 8001, "gallery": 8101, "gallery_voila": 8102, "share": 8103,
                       "commons": 8104},
    "proxy_command": None,
    "singleuser_command": None,
    "starter_notebooks": None,
    "lab_id": None,
    "gallery": "auto",
    "public_url": None,  # e.g. https://lab.example.org (a wildcard DNS name and certificate: see the README)
    "unsafe_shared_origin": False,  # True serves every server from the hub's origin: unsafe, see backstage/urls.py
    "commons": {"public": True},
    # the phase banner on every page (backstage.web.layout); feedback_url null: the commons' request form
    "phase": {"tag": "Beta", "feedback_url": None},
    # the public-service pages (backstage.public_pages): a folder of texts that replace the defaults, and what
    # the privacy notice and accessibility statement say about the site (defaults ask a real site to set them)
    "texts_dir": None,
    "privacy": {k: f"Not set yet: the site sets privacy.{k} ({what})." for k, what in {
        "controller": "the organisation responsible for your data, with its address",
        "contact": "how to reach its data protection officer, e.g. an e-mail address",
        "lawful_basis": "e.g. public task, UK GDPR Article 6(1)(e)",
        "retention": "how long accounts, notebooks, posts and logs are kept",
    }.items()} | {"purposes": "To give you an account and a lab of your own, to show what you publish to others, to "
                               "answer your data requests and tell you of updates you asked for, and to keep the "
                               "service secure and working."},
    "accessibility": {"contact": "Not set yet: the site sets accessibility.contact (an e-mail address).",
                      "prepared": "29 November 2026", "reviewed": "29 November 2026"},
}

SCHEMA: dict = {
    "type": "object",
    "additionalProperties": False,
    "properties": {
        "state_dir": {"type": "string", "minLength": 1},
        "ip": {"type": "string"},
        "port": {"type": "integer", "minimum": 0, "maximum": 65535},
        "auth": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "mode": {"enum": list(AUTH_MODES)},
                "event_password": {"type": ["string", "null"], "minLength": 8},
                "authenticator_class": {"type": ["string", "null"]},
                "min_password_length": {"type": "integer", "minimum": 8},
                # mode oidc (GOV.UK One Login, backstage.auth.oidc): contract 9
                "issuer": {"type": "string", "pattern": "^https?://[^\\s]+$",
                           "description": "e.g. https://oidc.account.gov.uk/"},
                "client_id": {"type": "string", "minLength": 1},
                "private_key": {"type": "string", "minLength": 1, "description": "path to the site's PEM private key"},
                "token_auth": {"enum": ["private_key_jwt", "client_secret_post"]},
                "client_secret": {"type": "string", "minLength": 1},
                "vtr": {"type": "array", "minItems": 1,
                        "items": {"type": "string", "pattern": "^(P[0-2]\\.)?Cl(\\.Cm)?$"}},
                "scopes": {"type": "array", "items": {"type": "string", "pattern": "^[A-Za-z0-9_:.-]+$"}},
                "ui_locales": {"type": "string", "pattern": "^[A-Za-z -]*$"},
                "new_people": {"enum": ["participant", "approval"]},
                "service_name": {"type": "string", "minLength": 1, "maxLength": 60},
            },
        },
        "admin_users": {"type": "array", "items": {"type": "string"}},
        "idle_timeout": {"type": "integer", "minimum": 0},
        "mem_limit": {"type": ["string", "integer", "null"], "pattern": "^[0-9]+[KMGT]?$"},
        "start_limit": {"type": ["integer", "null"], "minimum": 1},
        "warm_servers": {"type": ["integer", "null"], "minimum": 0, "maximum": 1000},
        "user_prefix": {"type": "string", "pattern": "^[a-z][a-z0-9-]{0,9}$"},
        "isolation": {"enum": ["auto", "users", "none"]},
        "internal_ports": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                k: {"type": "integer", "minimum": 1, "maximum": 65535}
                for k in ("hub", "proxy_api", "gallery", "gallery_voila", "share", "commons")
            },
        },
        "proxy_command": {"type": ["array", "null"], "items": {"type": "string"}},
        "singleuser_command": {"type": ["array", "null"], "items": {"type": "string"}},
        "starter_notebooks": {"type": ["string", "null"]},
        "gallery": {"enum": ["auto", True, False]},
        "commons": {
            "type": "object",
            "additionalProperties": False,
            "properties": {"public": {"type": "boolean", "description": "anyone may read the commons (default true)"}},
        },
        "lab_id": {"type": ["string", "null"], "description": "set by the launcher: marks the lab's processes"},
        "phase": {
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "tag": {"type": "string", "minLength": 1, "maxLength": 20, "description": "e.g. Alpha, Beta"},
                "feedback_url": {"type": ["string", "null"], "pattern": "^(https?://|mailto:|/)[^\\s]+$",
                                 "description": "the banner's feedback link, e.g. https://forms.example.org/lab"},
            },
        },
        "requests": {  # data requests (backstage.commons.requests.config)
            "type": "object",
            "additionalProperties": False,
            "properties": {
                "working_days": {"type": "integer", "minimum": 1, "maximum": 250},
                "stewards": {"type": "object", "additionalProperties": {"type": "array", "items": {"type": "string"}},
                             "description": "{steward: [publisher, ...]} limits a steward to those publishers"},
                "check_every_hours": {"type": "number", "minimum": 0},
            },
        },
        "notify": {  # e-mail updates: {smtp: {host, port, from, starttls}}
            "type": "object",
            "additionalProperties": False,
            "properties": {"smtp": {
                "type": ["object", "null"], "additionalProperties": False, "required": ["host", "from"],
                "properties": {"host": {"type": "string", "minLength": 1},
                               "port": {"type": "integer", "minimum": 1, "maximum": 65535},
                               "from": {"type": "string", "pattern": "^[^@\\s]+@[^@\\s]+$"},
                               "starttls": {"type": "boolean"}},
            }},
        },
        "public_url": {"type": ["string", "null"], "pattern": "^https?://[A-Za-z0-9.-]+(:[0-9]{1,5})?/?$",
                       "description": "e.g. https://lab.example.org: people's servers get <name>.lab.example.org"},
        "unsafe_shared_origin": {"type": "boolean",
                                 "description": "UNSAFE: serve every server from the hub's own origin"},
        "texts_dir": {"type": ["string", "null"], "minLength": 1,
                      "description": "folder of texts replacing the defaults (cookies.md, privacy.md, ...); "
                                     "relative to the state folder, e.g. texts"},
        "privacy": {"type": "object", "additionalProperties": False,
                    "properties": {k: {"type": "string", "minLength": 1}
                                   for k in ("controller", "contact", "purposes", "lawful_basis", "retention")}},
        "accessibility": {"type": "object", "additionalProperties": False,
                          "properties": {k: {"type": "string", "minLength": 1}
                                         for k in ("contact", "prepared", "reviewed")}},
    },
}


class SettingsError(ValueError):
    """The site settings are invalid; the message names the file, the key and the fix."""


def _merge(base: dict, extra: dict) -> dict:
    out = copy.deepcopy(base)
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


@functools.cache
def _validator():
    # fastjsonschema, not jsonschema: importing jsonschema costs seconds (it compiles a URI grammar),
    # and the hub imports these settings at every start
    return fastjsonschema.compile(SCHEMA)


def validate_settings(settings: dict, source: str = "settings") -> dict:
    """Validate ``settings`` against :data:`SCHEMA`, raising :class:`SettingsError` with a useful message."""
    try:
        _validator()(settings)
    except fastjsonschema.JsonSchemaValueException as e:
        path = list(e.path[1:]) if e.path else []
        where = ".".join(str(p) for p in path) or "(top level)"
        value = settings
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        got = f" (got {value!r})" if path and not isinstance(value, dict) else ""
        message = e.message.replace("data.", "").replace("data ", "")
        raise SettingsError(
            f"{source}: the setting {where} is invalid: {message}{got}. "
            f"Fix it in {source} (known settings: {', '.join(sorted(SCHEMA['properties']))})."
        ) from None
    auth = settings.get("auth", {})
    if auth.get("mode") == "shared-password" and not auth.get("event_password"):
        raise SettingsError(f"{source}: auth.mode is 'shared-password' but auth.event_password is not set: "
                            "set auth.event_password to the password of the day (8 characters or more).")
    if auth.get("mode") == "oauthenticator" and not auth.get("authenticator_class"):
        raise SettingsError(f"{source}: auth.mode is 'oauthenticator' but auth.authenticator_class is not set: "
                            "set it to e.g. 'oauthenticator.generic.GenericOAuthenticator'.")
    if auth.get("mode") == "oidc":
        _check_oidc(auth, source)
    return settings


def _check_oidc(auth: dict, source: str) -> None:
    missing = [key for key in OIDC_REQUIRED if not auth.get(key)]
    if missing:
        raise SettingsError(f"{source}: auth.mode is 'oidc' but auth.{missing[0]} is not set: set "
                            + ", ".join(f"auth.{k}" for k in missing) + " to what you registered with the provider "
                            "(e.g. issuer: https://oidc.account.gov.uk/).")
    method = auth.get("token_auth", "private_key_jwt")
    if method == "private_key_jwt" and not auth.get("private_key"):
        raise SettingsError(f"{source}: auth.mode is 'oidc' but auth.private_key is not set: set it to the path of "
                            "the site's PEM private key (make one with 'openssl genpkey -algorithm RSA -pkeyopt "
                            "rsa_keygen_bits:2048 -out oidc-private.pem' and register its public key).")
    if method == "client_secret_post" and not auth.get("client_secret"):
        raise SettingsError(f"{source}: auth.token_auth is 'client_secret_post' but auth.client_secret is not set: "
                            "set it, or use token_auth: private_key_jwt with auth.private_key.")
    if "openid" not in auth.get("scopes", ["openid"]):
        raise SettingsError(f"{source}: auth.scopes must include 'openid' (got {auth['scopes']!r}): "
                            "use e.g. [openid, email].")


def settings_path(state_dir: str | os.PathLike) -> Path:
    """The site settings file: ``$BACKSTAGE_SETTINGS`` or ``settings.yaml`` in the state folder."""
    return Path(os.environ.get("BACKSTAGE_SETTINGS") or Path(state_dir) / "settings.yaml")


def load_settings(environ: dict | None = None) -> dict:
    """Layer defaults ▸ site file ▸ the launcher's runtime settings (``$BACKSTAGE_RUNTIME``, JSON).

    Parameters
    ----------
    environ : dict, optional
        The environment to read (``os.environ`` by default).

    Returns
    -------
    dict
        Validated settings, with ``state_dir`` absolute and ``isolation`` resolved to
        ``"users"`` (running as root) or ``"none"``.
    """
    env = os.environ if environ is None else environ
    settings = copy.deepcopy(DEFAULTS)
    state_dir = env.get("BACKSTAGE_STATE") or settings["state_dir"]
    settings["state_dir"] = state_dir
    path = Path(env.get("BACKSTAGE_SETTINGS") or Path(state_dir) / "settings.yaml")
    if path.exists():
        try:
            site = yaml.safe_load(path.read_text()) or {}
        except yaml.YAMLError as e:
            raise SettingsError(f"{path} is not valid YAML ({e}): fix the file or remove it") from None
        if not isinstance(site, dict):
            raise SettingsError(f"{path} must hold a mapping of settings, not {type(site).__name__}")
        validate_settings(site, str(path))
        settings = _merge(settings, site)
    if env.get("BACKSTAGE_PORT"):
        try:
            settings["port"] = int(env["BACKSTAGE_PORT"])
        except ValueError:
            raise SettingsError(f"BACKSTAGE_PORT={env['BACKSTAGE_PORT']!r} is not a port number: "
                                "set it to e.g. 8000") from None
    runtime = env.get("BACKSTAGE_RUNTIME")
    if runtime:
        settings = _merge(settings, json.loads(runtime))
    validate_settings(settings, str(path))
    settings["state_dir"] = str(Path(settings["state_dir"]).resolve())
    if settings["isolation"] == "auto":
        settings["isolation"] = "users" if os.geteuid() == 0 else "none"
    return settings
