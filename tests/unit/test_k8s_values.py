"""hub/k8s/values.yaml, merged over chart 4.4.0's defaults the way Helm does, against the chart's schema."""

from __future__ import annotations

import copy
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml
from backstage.k8s import KubernetesConfigError
from backstage.k8s.chart import chart_values, helm_merge, load_schema, validate_values

REPO = Path(__file__).resolve().parents[2]
VALUES = REPO / "hub" / "k8s" / "values.yaml"


def z2jh_chart() -> Path:
    """The released Zero to JupyterHub chart 4.4.0 (values.yaml + values.schema.yaml) beside the repo."""
    folder = Path(os.environ.get("BACKSTAGE_Z2JH_CHART", REPO.parent / "shared" / "z2jh" / "release-4.4.0"))
    if not (folder / "values.schema.yaml").exists():
        pytest.fail(f"the z2jh chart 4.4.0 files are missing at {folder}: set BACKSTAGE_Z2JH_CHART to a folder "
                    "with the chart's values.yaml and values.schema.yaml")
    return folder


@pytest.fixture(scope="module")
def chart() -> Path:
    return z2jh_chart()


@pytest.fixture(scope="module")
def schema(chart):
    return load_schema(chart)


@pytest.fixture(scope="module")
def values(chart):
    return chart_values(chart, VALUES)


def test_helm_merge_merges_maps_replaces_lists_and_null_deletes_a_default():
    defaults = {"hub": {"config": {"JupyterHub": {"admin_access": True, "authenticator_class": "dummy"}},
                        "extraEnv": {}, "args": ["a"]}}
    ours = {"hub": {"config": {"JupyterHub": {"authenticator_class": None}}, "args": ["b"],
                    "extraEnv": {"X": "1"}}}
    merged = helm_merge(defaults, ours)
    assert merged == {"hub": {"config": {"JupyterHub": {"admin_access": True}}, "extraEnv": {"X": "1"},
                              "args": ["b"]}}
    assert defaults["hub"]["config"]["JupyterHub"]["authenticator_class"] == "dummy"  # inputs untouched


def test_values_merged_over_chart_defaults_validate_against_chart_440_schema(values, schema):
    validate_values(values, schema)


def test_chart_default_dummy_authenticator_is_removed_by_the_merge(values):
    assert "authenticator_class" not in values["hub"]["config"]["JupyterHub"]


@pytest.mark.parametrize(
    "path, bad, expected",
    [
        (("hub",), {"extraFile": {}}, "hub: Additional properties are not allowed ('extraFile' was unexpected)"),
        (("singleuser", "networkPolicy"), {"egresAllowRules": {}}, "singleuser.networkPolicy: Additional"),
        (("cull",), {"timeout": "an hour"}, "cull.timeout: 'an hour' is not of type"),
        (("hub", "db"), {"type": "postgresql"}, "hub.db.type: 'postgresql' is not one of"),
        (("singleuser", "storage"), {"type": "per-user"}, "singleuser.storage.type: 'per-user' is not one of"),
    ],
    ids=["misspelt-key", "misspelt-nested-key", "wrong-type", "unknown-db-type", "unknown-storage-type"],
)
def test_a_wrong_key_or_value_is_rejected_naming_where(values, schema, path, bad, expected):
    broken = copy.deepcopy(values)
    node = broken
    for key in path:
        node = node[key]
    node.update(bad)
    with pytest.raises(KubernetesConfigError) as info:
        validate_values(broken, schema)
    assert expected in str(info.value)


def test_extra_file_without_content_is_rejected(values, schema):
    broken = copy.deepcopy(values)
    del broken["hub"]["extraFiles"]["backstage-settings"]["data"]
    with pytest.raises(KubernetesConfigError, match="hub.extraFiles.backstage-settings"):
        validate_values(broken, schema)


def test_values_file_holds_no_secret():
    text = VALUES.read_text()
    data = yaml.safe_load(text)
    assert "password" not in data["hub"]["db"]
    assert "cookieSecret" not in data["hub"] and "secretToken" not in data.get("proxy", {})
    assert ":" not in data["hub"]["db"]["url"].split("@")[0].split("//")[1], "no password in the database URL"
    for name, spec in data["hub"]["extraEnv"].items():
        if any(word in name for word in ("PASSWORD", "SECRET", "TOKEN")):
            assert "secretKeyRef" in spec["valueFrom"], f"{name} must come from a Secret"


def test_kubernetes_musts_are_set(values):
    su = values["singleuser"]
    assert values["hub"]["db"]["type"] == "postgres"
    assert su["storage"]["type"] == "dynamic" and su["storage"]["capacity"]
    assert su["memory"]["guarantee"] and su["memory"]["limit"] and su["cpu"]["guarantee"] and su["cpu"]["limit"]
    assert values["cull"]["enabled"] and values["cull"]["timeout"] > 0
    rules = su["networkPolicy"]["egressAllowRules"]
    assert su["networkPolicy"]["enabled"] and rules["privateIPs"] is False and rules["cloudMetadataServer"] is False
    # the only in-cluster destination added to user pods is the proxy's http port
    assert su["networkPolicy"]["egress"] == [{
        "to": [{"podSelector": {"matchLabels": {"app": "jupyterhub", "component": "proxy"}}}],
        "ports": [{"port": 8000, "protocol": "TCP"}]}]
    assert "gallery" in values["hub"]["services"]
    assert "from backstage.k8s import configure_hub" in values["hub"]["extraConfig"]["00-backstage"]


def test_post_start_hook_copies_missing_starter_notebooks_and_keeps_edits(tmp_path):
    """Run the user pod's postStart command against this repository's notebooks."""
    command = yaml.safe_load(VALUES.read_text())["singleuser"]["lifecycleHooks"]["postStart"]["exec"]["command"]
    assert command[:2] == ["python", "-c"] and "/srv/backstage-repo/notebooks" in command[2]
    source = REPO / "notebooks"
    starters = sorted(p.name for p in source.glob("*.ipynb"))
    assert starters, "no starter notebooks to copy"
    home = tmp_path / "home"
    (home / "notebooks").mkdir(parents=True)
    (home / "notebooks" / starters[0]).write_text("my edits")
    script = command[2].replace("/srv/backstage-repo/notebooks", str(source))
    subprocess.run([sys.executable, "-c", script], check=True, env={"HOME": str(home)}, timeout=60)
    assert (home / "notebooks" / starters[0]).read_text() == "my edits"
    for name in starters[1:]:
        assert (home / "notebooks" / name).read_bytes() == (source / name).read_bytes()
