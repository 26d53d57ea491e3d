"""The lab on Kubernetes with Zero to JupyterHub, from the same configuration as the local lab.

The hub pod runs the chart's ``jupyterhub_config.py``; its ``hub.extraConfig`` (``hub/k8s/values.yaml``)
calls :func:`configure_hub`, which builds the local lab's configuration with
:func:`backstage.hubconfig.build_config` and takes from it the groups, roles, custom scopes, sign-in
and services, leaving the chart in charge of what differs on Kubernetes (KubeSpawner, PostgreSQL,
the proxy in its own pod, the idle culler from ``cull.*``).

Modules
-------
``hub``
    :func:`configure_hub`, run in the hub pod (needs only the hub image's packages).
``chart``
    Helm's merge of values over the chart defaults, validation against the chart's schema, and a
    dry render of the hub's configuration the way the chart's ``jupyterhub_config.py`` builds it.
``manifests``
    The gallery's pod (Deployment, Service, PersistentVolumeClaim, NetworkPolicy) and the hub's
    state volume, rendered from :func:`backstage.services.gallery_service`.

Run ``python -m backstage.k8s --help`` for the pre-flight check and the manifest renderer.
"""

from backstage.k8s.errors import KubernetesConfigError
from backstage.k8s.hub import SETTINGS_PATH, configure_hub, kubernetes_settings

__all__ = ["SETTINGS_PATH", "KubernetesConfigError", "configure_hub", "kubernetes_settings"]
