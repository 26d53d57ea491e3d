"""Zero to JupyterHub's chart, offline: Helm's merge of values, the chart's schema, a dry render of the hub.

Nothing here needs Helm, a cluster or KubeSpawner. :func:`chart_values` merges a values file over the
chart's defaults the way Helm does; :func:`validate_values` checks the result against the chart's
``values.schema`` (JSON Schema draft-07, as ``helm install`` does); :func:`render_hub` builds the
hub's ``Config`` the way the chart's ``jupyterhub_config.py`` (chart 4.4.0) does for the parts the
lab uses (database, services and their API tokens, roles, ``hub.config``, the idle culler), then
executes ``hub.extraConfig`` exactly as the chart does, with its files (``hub.extraFiles``) and
environment (``hub.extraEnv``, Secrets resolved from what the site says it created).
"""

from __future__ import annotations

import base64
import contextlib
import copy
import json
import os
import secrets as _secrets
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import urlparse

import jsonschema
import yaml
from traitlets.config import Config

from backstage.k8s.errors import KubernetesConfigError

__all__ = ["chart_values", "helm_merge", "hub_environment", "load_schema", "materialise_extra_files",
           "process_environment", "render_hub", "validate_values"]

#: What the dry render uses for the hub pod's address (fieldRef status.podIP).
DRY_POD_IP = "10.0.0.10"


def helm_merge(defaults: Mapping, overrides: Mapping) -> dict:
    """Merge ``overrides`` over ``defaults`` like Helm coalesces user values over a chart's.

    Mappings merge key by key; anything else (lists, scalars) replaces; a ``None`` (YAML ``null``)
    in ``overrides`` deletes the key.

    Examples
    --------
    >>> helm_merge({"a": {"b": 1, "c": 2}, "l": [1]}, {"a": {"c": None, "d": 3}, "l": [2]})
    {'a': {'b': 1, 'd': 3}, 'l': [2]}
    """
    out = copy.deepcopy(dict(defaults))
    for key, value in overrides.items():
        if value is None:
            out.pop(key, None)
        elif isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = helm_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _load_yaml(path: Path, what: str):
    try:
        with open(path) as f:
            return yaml.safe_load(f)
    except FileNotFoundError:
        raise KubernetesConfigError(f"{what} {path} does not exist: give the right path") from None
    except yaml.YAMLError as e:
        raise KubernetesConfigError(f"{what} {path} is not valid YAML: {e}") from None


def chart_values(chart_dir: str | os.PathLike, *values_files: str | os.PathLike) -> dict:
    """The chart's ``values.yaml`` with each of ``values_files`` merged over it, in order (``helm -f``)."""
    values = _load_yaml(Path(chart_dir) / "values.yaml", "the chart's default values") or {}
    for path in values_files:
        site = _load_yaml(Path(path), "values file") or {}
        if not isinstance(site, Mapping):
            raise KubernetesConfigError(f"values file {path} must hold a mapping, not {type(site).__name__}")
        values = helm_merge(values, site)
    return values


def load_schema(chart_dir: str | os.PathLike) -> dict:
    """The chart's values schema: ``values.schema.json`` (packaged chart) or ``values.schema.yaml`` (git)."""
    chart_dir = Path(chart_dir)
    if (chart_dir / "values.schema.json").exists():
        return json.loads((chart_dir / "values.schema.json").read_text())
    return _load_yaml(chart_dir / "values.schema.yaml", "the chart's values schema")


def validate_values(values: Mapping, schema: Mapping) -> None:
    """Validate merged values against the chart's schema, as ``helm install`` does.

    Raises
    ------
    KubernetesConfigError
        Listing every violation with its dotted path, e.g. ``hub.extraFile: Additional properties
        are not allowed ('extraFile' was unexpected)``.
    """
    validator = jsonschema.Draft7Validator(schema)
    problems = sorted(validator.iter_errors(values), key=lambda e: [str(p) for p in e.absolute_path])
    if problems:
        lines = [f"  {'.'.join(str(p) for p in e.absolute_path) or '(top level)'}: {e.message}" for e in problems]
        raise KubernetesConfigError(
            "the values do not match the chart's schema (fix these keys; the chart's configuration "
            "reference at https://z2jh.jupyter.org/en/stable/resources/reference.html lists the "
            "valid ones):\n" + "\n".join(lines))


def _render_file(name: str, spec: Mapping) -> bytes:
    if "stringData" in spec:
        return spec["stringData"].encode()
    if "binaryData" in spec:
        return base64.b64decode(spec["binaryData"])
    data = spec["data"]
    if spec["mountPath"].endswith((".yaml", ".yml")):
        return yaml.safe_dump(data).encode()
    if spec["mountPath"].endswith(".json"):
        return json.dumps(data).encode()
    raise KubernetesConfigError(f"hub.extraFiles.{name}: the dry render writes `data` as YAML or JSON only; "
                                "give the file a .yaml or .json name, or use stringData")


def materialise_extra_files(extra_files: Mapping, root: str | os.PathLike) -> dict[str, Path]:
    """Write ``hub.extraFiles`` under ``root`` (mount path rebased there); returns mountPath -> file."""
    written = {}
    for name, spec in (extra_files or {}).items():
        target = Path(root) / spec["mountPath"].lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(_render_file(name, spec))
        written[spec["mountPath"]] = target
    return written


def hub_environment(extra_env, secrets: Mapping[str, Mapping[str, str]], mounts: Mapping[str, Path]) -> dict:
    """The hub container's environment from ``hub.extraEnv``, with Secrets taken from ``secrets``.

    Parameters
    ----------
    extra_env : dict or list
        ``hub.extraEnv`` (a mapping of name to value or EnvVar source, or a list of EnvVars).
    secrets : mapping
        ``{secret name: {key: value}}``: the Secrets the site has created (only their names and keys
        matter for the check; values may be placeholders).
    mounts : mapping
        Files of :func:`materialise_extra_files`: an environment value naming a mount path is
        rewritten to where the dry render wrote the file.

    Raises
    ------
    KubernetesConfigError
        A non-optional ``secretKeyRef`` names a Secret or key that is not in ``secrets``.
    """
    if isinstance(extra_env, list):
        items = [(e["name"], {k: v for k, v in e.items() if k != "name"}) for e in extra_env]
    else:
        items = list((extra_env or {}).items())
    env = {}
    for name, spec in items:
        if not isinstance(spec, Mapping):
            value = "" if spec is None else str(spec)
            env[name] = str(mounts.get(value, value))
            continue
        source = spec.get("valueFrom", {})
        if "value" in spec:
            env[name] = str(spec["value"])
        elif "secretKeyRef" in source:
            ref = source["secretKeyRef"]
            secret = secrets.get(ref["name"])
            if secret is None or ref["key"] not in secret:
                if ref.get("optional"):
                    continue
                raise KubernetesConfigError(
                    f"hub.extraEnv.{name} needs the key {ref['key']!r} of the Secret {ref['name']!r}, which "
                    f"is missing: create it with `kubectl create secret generic {ref['name']} "
                    f"--from-literal={ref['key']}=...` (hub/k8s/README.md, 'Create the secrets')")
            env[name] = secret[ref["key"]]
        elif source.get("fieldRef", {}).get("fieldPath") == "status.podIP":
            env[name] = DRY_POD_IP
        else:
            raise KubernetesConfigError(f"hub.extraEnv.{name}: the dry render cannot resolve {dict(spec)!r}")
    return env


@contextlib.contextmanager
def process_environment(env: Mapping[str, str]):
    """Run the block with exactly ``env`` as ``os.environ`` (as in a pod), then restore it."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        yield
    finally:
        os.environ.clear()
        os.environ.update(saved)


def _getter(values: Mapping) -> Callable:
    def get_config(key: str, default=None):
        """The chart's ``z2jh.get_config``: a dotted key into the chart's values."""
        value = values
        for level in key.split("."):
            if not isinstance(value, Mapping) or level not in value:
                return default
            value = value[level]
        return copy.deepcopy(value)

    return get_config


def _cull(c: Config, get_config: Callable) -> None:
    """The chart's idle culler: a hub-managed service with a least-privilege role."""
    role = {"name": "jupyterhub-idle-culler",
            "scopes": ["list:users", "read:users:activity", "read:servers", "delete:servers"],
            "services": ["jupyterhub-idle-culler"]}
    cmd = ["python3", "-m", "jupyterhub_idle_culler", "--url=http://localhost:8081/hub/api"]
    for key, flag in (("timeout", "--timeout"), ("every", "--cull-every"), ("concurrency", "--concurrency"),
                      ("maxAge", "--max-age")):
        if get_config(f"cull.{key}"):
            cmd.append(f"{flag}={get_config(f'cull.{key}')}")
    if get_config("cull.users"):
        cmd.append("--cull-users")
        role["scopes"].append("admin:users")
    if not get_config("cull.adminUsers"):
        cmd.append("--cull-admin-users=false")
    if get_config("cull.removeNamedServers"):
        cmd.append("--remove-named-servers")
    c.JupyterHub.services.append({"name": "jupyterhub-idle-culler", "command": cmd})
    c.JupyterHub.load_roles.append(role)


def render_hub(values: Mapping, *, secrets: Mapping[str, Mapping[str, str]], files_root: str | os.PathLike,
               chart_secret: Mapping[str, str] | None = None) -> Config:
    """Build the hub's ``Config`` the way the chart's ``jupyterhub_config.py`` does, then run extraConfig.

    Parameters
    ----------
    values : mapping
        Merged values (:func:`chart_values`).
    secrets : mapping
        ``{secret name: {key: value}}``: the Secrets the site created (``backstage-hub-db``, ...).
    files_root : path
        A scratch folder where ``hub.extraFiles`` are written.
    chart_secret : mapping, optional
        The chart's own Secret ``hub``; by default generated like the chart does (a random API token
        for each ``hub.services`` key).

    Returns
    -------
    traitlets.config.Config

    Raises
    ------
    KubernetesConfigError
        A missing database URL, Secret, service token, port, or a wrong setting, named.
    """
    get_config = _getter(values)
    if chart_secret is None:
        chart_secret = {f"hub.services.{key}.apiToken": (svc or {}).get("apiToken") or _secrets.token_hex(32)
                        for key, svc in (get_config("hub.services") or {}).items()}

    def get_secret_value(key, default="never-explicitly-set"):
        """The chart's ``z2jh.get_secret_value``: a key of the chart's Secret ``hub``."""
        if key in chart_secret:
            return chart_secret[key]
        if default != "never-explicitly-set":
            return default
        raise KubernetesConfigError(f"{key} not found in the chart's Secret `hub`")

    c = Config()
    c.JupyterHub.spawner_class = "kubespawner.KubeSpawner"
    c.JupyterHub.cleanup_servers = False
    db_type = get_config("hub.db.type")
    if db_type in ("postgres", "mysql", "other"):
        if not get_config("hub.db.url"):
            raise KubernetesConfigError(f"hub.db.type is {db_type!r} but hub.db.url is not set: set it to the "
                                        "database URL without its password (the password comes from a Secret)")
        c.JupyterHub.db_url = get_config("hub.db.url")
    for trait, key in (("template_paths", "templatePaths"), ("template_vars", "templateVars"),
                       ("authenticate_prometheus", "authenticatePrometheus"),
                       ("shutdown_on_logout", "shutdownOnLogout")):
        if get_config(f"hub.{key}") is not None:
            c.JupyterHub[trait] = get_config(f"hub.{key}")
    if get_config("singleuser.defaultUrl") is not None:
        c.Spawner.default_url = get_config("singleuser.defaultUrl")
    for trait, key in (("mem_limit", "memory.limit"), ("mem_guarantee", "memory.guarantee"),
                       ("cpu_limit", "cpu.limit"), ("cpu_guarantee", "cpu.guarantee")):
        if get_config(f"singleuser.{key}") is not None:
            c.KubeSpawner[trait] = get_config(f"singleuser.{key}")

    c.JupyterHub.services = []
    c.JupyterHub.load_roles = []
    if get_config("cull.enabled", False):
        _cull(c, get_config)
    for key, service in (get_config("hub.services") or {}).items():
        service = dict(service or {})
        service.setdefault("name", key)
        service.pop("apiToken", None)
        service["api_token"] = get_secret_value(f"hub.services.{key}.apiToken")
        c.JupyterHub.services.append(service)
    for key, role in (get_config("hub.loadRoles") or {}).items():
        role = dict(role)
        role.setdefault("name", key)
        c.JupyterHub.load_roles.append(role)
    for app, cfg in (get_config("hub.config") or {}).items():
        cfg = dict(cfg or {})
        if app == "JupyterHub":
            for secret_key in ("proxy_auth_token", "cookie_secret", "services"):
                cfg.pop(secret_key, None)
        c[app].update(cfg)

    mounts = materialise_extra_files(get_config("hub.extraFiles") or {}, files_root)
    env = hub_environment(get_config("hub.extraEnv"), secrets, mounts)
    def set_config_if_not_none(cparent, name, key):
        """The chart's ``z2jh.set_config_if_not_none``."""
        if get_config(key) is not None:
            setattr(cparent, name, get_config(key))

    namespace = {"c": c, "get_config": get_config, "get_secret_value": get_secret_value,
                 "set_config_if_not_none": set_config_if_not_none, "__name__": "jupyterhub_config"}
    # BACKSTAGE_DRY_RUN: backstage.k8s checks what it would write in the hub pod, and writes nothing
    with process_environment({**env, "PATH": os.environ.get("PATH", ""), "BACKSTAGE_DRY_RUN": "1"}):
        for key, snippet in sorted((get_config("hub.extraConfig") or {}).items()):
            exec(compile(snippet, f"hub.extraConfig.{key}", "exec"), namespace)  # noqa: S102 - as the chart does
    _check_hub_ports(c, get_config)
    return c


def _check_hub_ports(c: Config, get_config: Callable) -> None:
    """Every web service started in the hub pod must be reachable by the proxy through the hub's policy."""
    if not get_config("hub.networkPolicy.enabled", False):
        return
    allowed = {port.get("port") for rule in get_config("hub.networkPolicy.ingress") or []
               for port in rule.get("ports", [])}
    allowed |= set(get_config("hub.networkPolicy.allowedIngressPorts") or [])
    for service in c.JupyterHub.services:
        if service.get("command") and service.get("url"):
            port = urlparse(service["url"]).port
            if port not in allowed:
                raise KubernetesConfigError(
                    f"service {service['name']!r} listens in the hub pod on port {port}, which "
                    f"hub.networkPolicy.ingress does not open: add a rule letting the proxy pod "
                    f"(app: jupyterhub, component: proxy) reach port {port}")
