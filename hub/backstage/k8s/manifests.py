"""The gallery's pod and the hub's state volume, rendered from the lab's own service definition.

The gallery (and the standalone Voilà it runs for the dashboards, on the pod's loopback) is an external
JupyterHub service on Kubernetes: its own Deployment, reached by the proxy through the Service
``gallery``. Its environment is the one the hub gives it on one machine
(:func:`backstage.services.gallery_service`) plus the ``JUPYTERHUB_*`` variables JupyterHub injects into
a managed service, with the API token read from the chart's Secret ``hub``. Its NetworkPolicy lets in
only the proxy and the hub, on the gallery's port: user pods never reach the gallery's internals.

``python -m backstage.k8s manifests hub/k8s/values.yaml`` prints them (``hub/k8s/gallery.yaml``).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from urllib.parse import urlparse

from backstage import roles
from backstage.k8s.chart import process_environment
from backstage.k8s.errors import KubernetesConfigError
from backstage.k8s.hub import GALLERY_HOST, kubernetes_settings
from backstage.services import gallery_service

__all__ = ["GALLERY_CAPABILITIES", "GALLERY_LABELS", "gallery_manifests", "hub_state_manifests", "manifests", "settings_from_values"]

PART_OF = {"app.kubernetes.io/part-of": "government-backstage"}
# What the gallery's root process needs to run submitted code as throw-away accounts (backstage/gallery/sandbox.py)
# and hand them their files.
GALLERY_CAPABILITIES = ("CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID")
GALLERY_LABELS = {"app.kubernetes.io/name": "backstage-gallery", **PART_OF}
HUB_API_PORT = 8081
PROXY_HTTP_PORT = 8000
# Where a pod's egress may go on the internet (the open-data portals): everything but private ranges
# and the cloud metadata server, like the chart's egressAllowRules.nonPrivateIPs.
NON_PRIVATE = {"cidr": "0.0.0.0/0",
               "except": ["10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "169.254.169.254/32"]}


def _chart_pod(component: str) -> dict:
    return {"podSelector": {"matchLabels": {"app": "jupyterhub", "component": component}}}


def settings_from_values(values: Mapping) -> dict:
    """The lab's settings as the hub pod computes them from the merged chart values."""
    spec = (values.get("hub", {}).get("extraFiles") or {}).get("backstage-settings")
    if not spec or "data" not in spec:
        raise KubernetesConfigError("hub.extraFiles.backstage-settings.data is missing from values.yaml: it holds "
                                    "the lab's site settings (auth mode, admin users, internal ports)")
    cull = values.get("cull", {})
    # The event password (a Secret, read by the hub pod only) plays no part in any manifest.
    environ = {"BACKSTAGE_EVENT_PASSWORD": "<from the Secret backstage-auth>"}
    return kubernetes_settings(spec["data"], environ=environ,
                               cull_timeout=cull.get("timeout") if cull.get("enabled") else None,
                               source="hub.extraFiles.backstage-settings.data")


def _service_env(service: dict, values: Mapping, port: int) -> list[dict]:
    """What JupyterHub gives a managed service, for a service in its own pod."""
    name = service["name"]
    base = values.get("hub", {}).get("baseUrl") or "/"
    base = base if base.endswith("/") else base + "/"
    prefix = f"{base}services/{name}/"
    access = [f"access:services!service={name}"]
    env = {
        **{k: str(v) for k, v in (service.get("environment") or {}).items()},
        "JUPYTERHUB_SERVICE_NAME": name,
        "JUPYTERHUB_SERVICE_URL": f"http://0.0.0.0:{port}",
        "JUPYTERHUB_SERVICE_PREFIX": prefix,
        "JUPYTERHUB_BASE_URL": base,
        "JUPYTERHUB_API_URL": f"http://hub:{HUB_API_PORT}{base}hub/api",
        "JUPYTERHUB_CLIENT_ID": f"service-{name}",
        "JUPYTERHUB_HOST": "",
        "JUPYTERHUB_OAUTH_CALLBACK_URL": f"{prefix}oauth_callback",
        "JUPYTERHUB_OAUTH_SCOPES": json.dumps(access),
        "JUPYTERHUB_OAUTH_ACCESS_SCOPES": json.dumps(access),
        "JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES": json.dumps(service.get("oauth_client_allowed_scopes", [])),
        # server-side requests to submitters' own servers go through the proxy, like a browser's
        "BACKSTAGE_PUBLIC_URL": "http://proxy-public",
    }
    if "BACKSTAGE_COMMONS_API" in env:
        # the commons runs in the hub's pod, which this pod has no route to (its NetworkPolicy): the gallery's
        # cards show an idea's number, not its title and challenge, nor data problems (gallery/commons_links.py)
        env["BACKSTAGE_COMMONS_API"] = ""
    out = [{"name": k, "value": v} for k, v in env.items()]
    out.append({"name": "JUPYTERHUB_API_TOKEN",
                "valueFrom": {"secretKeyRef": {"name": "hub", "key": f"hub.services.{name}.apiToken"}}})
    return out


def gallery_manifests(values: Mapping, settings: dict, *, store_size: str = "10Gi") -> list[dict]:
    """Deployment, Service, PersistentVolumeClaim and NetworkPolicy of the gallery's pod.

    Parameters
    ----------
    values : mapping
        Merged chart values (the gallery runs in the user image, ``singleuser.image``: the same
        Python environment as the notebooks it checks and serves).
    settings : dict
        :func:`settings_from_values`.
    store_size : str
        Size of the gallery's store (submissions, snapshots, thumbnails).
    """
    with process_environment({}):  # the pod's environment, not the one of the machine rendering it
        service = gallery_service(settings)
    port = urlparse(service.get("url") or "").port
    if not port:
        raise KubernetesConfigError(f"the gallery's url {service.get('url')!r} has no port: set "
                                    "internal_ports.gallery in hub.extraFiles.backstage-settings.data")
    if service["name"] != roles.GALLERY_SERVICE:
        raise KubernetesConfigError(f"gallery_service() is named {service['name']!r}, expected "
                                    f"{roles.GALLERY_SERVICE!r} (backstage.roles.GALLERY_SERVICE)")
    if roles.GALLERY_SERVICE not in (values.get("hub", {}).get("services") or {}):
        raise KubernetesConfigError(f"hub.services.{roles.GALLERY_SERVICE} is missing from values.yaml: the "
                                    "gallery's pod reads the API token the chart generates for it")
    command = list(service.get("command") or [])
    if len(command) < 2:
        raise KubernetesConfigError(f"gallery_service() has no command to run in the pod: {command!r}")
    image = values["singleuser"]["image"]
    state = settings["state_dir"]
    labels = {**GALLERY_LABELS, "hub.jupyter.org/network-access-hub": "true"}
    deployment = {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": GALLERY_HOST, "labels": dict(GALLERY_LABELS)},
        "spec": {
            "replicas": 1,  # one writer of the store (SQLite): never two pods at once
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": dict(GALLERY_LABELS)},
            "template": {
                "metadata": {"labels": labels},
                "spec": {
                    "automountServiceAccountToken": False,
                    # As on a one-machine site run as root, the gallery starts submitted code (the
                    # checks' kernels, the dashboards' Voilà) as accounts of their own (gallery/sandbox.py),
                    # so that code never reads the gallery's token or store: the container starts as
                    # root with only the capabilities that switching users and owning files need.
                    "securityContext": {"runAsUser": 0, "runAsGroup": 0,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "containers": [{
                        "name": "gallery",
                        "image": f"{image['name']}:{image['tag']}",
                        "command": ["python", *command[1:]],
                        "env": _service_env(service, values, port),
                        "ports": [{"name": "http", "containerPort": port, "protocol": "TCP"}],
                        "readinessProbe": {"tcpSocket": {"port": "http"}, "periodSeconds": 5},
                        "livenessProbe": {"tcpSocket": {"port": "http"}, "initialDelaySeconds": 30,
                                          "periodSeconds": 20},
                        # checks run notebooks, Voilà keeps preheated kernels, Chromium draws thumbnails
                        "resources": {"requests": {"cpu": "500m", "memory": "1Gi"},
                                      "limits": {"cpu": "2", "memory": "4Gi"}},
                        "securityContext": {"allowPrivilegeEscalation": False,
                                            "capabilities": {"drop": ["ALL"], "add": list(GALLERY_CAPABILITIES)}},
                        "volumeMounts": [{"name": "store", "mountPath": state}],
                    }],
                    "volumes": [{"name": "store",
                                 "persistentVolumeClaim": {"claimName": "backstage-gallery-store"}}],
                },
            },
        },
    }
    svc = {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": {"name": GALLERY_HOST, "labels": dict(GALLERY_LABELS)},
        "spec": {"type": "ClusterIP", "selector": dict(GALLERY_LABELS),
                 "ports": [{"name": "http", "port": port, "targetPort": "http", "protocol": "TCP"}]},
    }
    pvc = {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "backstage-gallery-store", "labels": dict(GALLERY_LABELS)},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": store_size}}},
    }
    dns = {"ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]}
    netpol = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {"name": GALLERY_HOST, "labels": dict(GALLERY_LABELS)},
        "spec": {
            "podSelector": {"matchLabels": dict(GALLERY_LABELS)},
            "policyTypes": ["Ingress", "Egress"],
            # in: only the proxy (every visitor's request) and the hub, and only the gallery's port;
            # Voilà (gallery_voila) listens on the pod's loopback and is never a target
            "ingress": [{"from": [_chart_pod("proxy"), _chart_pod("hub")],
                         "ports": [{"port": port, "protocol": "TCP"}]}],
            # out: the hub API, the proxy (submitters' servers), DNS, the open-data portals
            "egress": [
                {"to": [_chart_pod("hub")], "ports": [{"port": HUB_API_PORT, "protocol": "TCP"}]},
                {"to": [_chart_pod("proxy")], "ports": [{"port": PROXY_HTTP_PORT, "protocol": "TCP"}]},
                dns,
                {"to": [{"ipBlock": NON_PRIVATE}]},
            ],
        },
    }
    return [deployment, svc, pvc, netpol]


def hub_state_manifests(size: str = "1Gi") -> list[dict]:
    """The hub pod's state volume (the sign-up store; the hub's own database is PostgreSQL)."""
    return [{
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": "backstage-hub-state", "labels": {"app.kubernetes.io/name": "backstage-hub",
                                                                **PART_OF}},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}},
    }]


def manifests(values: Mapping) -> list[dict]:
    """Everything to ``kubectl apply`` beside the chart, in order."""
    return hub_state_manifests() + gallery_manifests(values, settings_from_values(values))
