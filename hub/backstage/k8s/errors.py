"""The one error of the Kubernetes glue."""

from __future__ import annotations


class KubernetesConfigError(ValueError):
    """The Kubernetes configuration is incomplete or wrong; the message names the key and the fix."""
