"""hub/k8s/gallery.yaml: the gallery's own pod, rendered from the lab's service definition, kept in step."""

from __future__ import annotations

import copy
import json
from pathlib import Path

import pytest
import yaml
from backstage import roles
from backstage.k8s import KubernetesConfigError
from backstage.k8s.__main__ import main, render_manifests
from backstage.k8s.chart import chart_values
from backstage.k8s.manifests import gallery_manifests, settings_from_values
from backstage.services import gallery_service
from test_k8s_values import z2jh_chart

REPO = Path(__file__).resolve().parents[2]
VALUES = REPO / "hub" / "k8s" / "values.yaml"
GALLERY_YAML = REPO / "hub" / "k8s" / "gallery.yaml"
RENDER = "python -m backstage.k8s manifests hub/k8s/values.yaml --chart <chart 4.4.0> -o hub/k8s/gallery.yaml"


@pytest.fixture(scope="module")
def chart() -> Path:
    return z2jh_chart()


@pytest.fixture(scope="module")
def values(chart):
    return chart_values(chart, VALUES)


@pytest.fixture(scope="module")
def docs(values):
    return {(d["kind"], d["metadata"]["name"]): d for d in yaml.safe_load_all(render_manifests(values))}


def test_committed_gallery_yaml_is_the_current_render(values):
    assert GALLERY_YAML.read_text() == render_manifests(values), f"hub/k8s/gallery.yaml is stale: run {RENDER}"


def test_gallery_pod_gets_the_lab_environment_and_the_charts_token(values, docs):
    settings = settings_from_values(values)
    container = docs[("Deployment", "gallery")]["spec"]["template"]["spec"]["containers"][0]
    env = {e["name"]: e.get("value", e.get("valueFrom")) for e in container["env"]}
    port = settings["internal_ports"]["gallery"]
    assert env["GALLERY_VOILA_PORT"] == str(settings["internal_ports"]["gallery_voila"])
    assert env["BACKSTAGE_STATE"] == settings["state_dir"] == container["volumeMounts"][0]["mountPath"]
    assert env["JUPYTERHUB_SERVICE_URL"] == f"http://0.0.0.0:{port}"
    assert env["JUPYTERHUB_SERVICE_PREFIX"] == "/services/gallery/"
    assert env["JUPYTERHUB_API_URL"] == "http://hub:8081/hub/api"
    assert json.loads(env["JUPYTERHUB_OAUTH_CLIENT_ALLOWED_SCOPES"]) == gallery_service(settings)[
        "oauth_client_allowed_scopes"]
    assert env["JUPYTERHUB_API_TOKEN"] == {"secretKeyRef": {"name": "hub", "key": "hub.services.gallery.apiToken"}}
    assert "gallery" in values["hub"]["services"]  # so the chart generates that key
    # nothing from the machine that rendered the file
    assert not {"PATH", "HOME", "VIRTUAL_ENV", "GOVDATA_CACHE", "JUPYTER_DATA_DIR"} & set(env)
    assert container["command"] == ["python", "-m", "backstage.gallery"]
    assert container["image"] == f"{values['singleuser']['image']['name']}:{values['singleuser']['image']['tag']}"
    assert docs[("Service", "gallery")]["spec"]["ports"][0]["port"] == port


def test_only_the_proxy_and_the_hub_reach_the_gallery_and_never_its_voila(values, docs):
    settings = settings_from_values(values)
    spec = docs[("NetworkPolicy", "gallery")]["spec"]
    pod_labels = docs[("Deployment", "gallery")]["spec"]["template"]["metadata"]["labels"]
    assert all(pod_labels[k] == v for k, v in spec["podSelector"]["matchLabels"].items())
    assert set(spec["policyTypes"]) == {"Ingress", "Egress"}
    [rule] = spec["ingress"]
    assert [p["port"] for p in rule["ports"]] == [settings["internal_ports"]["gallery"]]
    assert {s["podSelector"]["matchLabels"]["component"] for s in rule["from"]} == {"proxy", "hub"}
    container = docs[("Deployment", "gallery")]["spec"]["template"]["spec"]["containers"][0]
    assert [p["containerPort"] for p in container["ports"]] == [settings["internal_ports"]["gallery"]]
    # user pods: no private IPs, so not the gallery's pod, whatever its ports
    assert values["singleuser"]["networkPolicy"]["egressAllowRules"]["privateIPs"] is False
    # the gallery's pod may call the hub API (the hub's policy admits this label)
    assert pod_labels["hub.jupyter.org/network-access-hub"] == "true"


def test_hub_state_volume_is_the_one_values_mount(values, docs):
    [volume] = values["hub"]["extraVolumes"]
    assert ("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]) in docs
    assert values["hub"]["extraVolumeMounts"][0]["mountPath"] == settings_from_values(values)["state_dir"]


def test_render_refuses_values_without_the_gallery_token(values):
    broken = copy.deepcopy(values)
    broken["hub"]["services"].pop(roles.GALLERY_SERVICE)
    with pytest.raises(KubernetesConfigError, match="hub.services.gallery is missing"):
        gallery_manifests(broken, settings_from_values(broken))


def test_command_line_check_reports_a_missing_secret_and_passes_with_it(chart, tmp_path, capsys):
    secrets = tmp_path / "secrets.yaml"
    secrets.write_text(yaml.safe_dump({"backstage-auth": {}}))
    assert main(["check", str(VALUES), "--chart", str(chart), "--secrets", str(secrets)]) == 1
    assert "Secret 'backstage-hub-db'" in capsys.readouterr().err
    secrets.write_text(yaml.safe_dump({"backstage-hub-db": {"password": "x"}, "backstage-auth": {"admin-password": "y"}}))
    assert main(["check", str(VALUES), "--chart", str(chart), "--secrets", str(secrets)]) == 0
    out = capsys.readouterr().out
    assert "service gallery: http://gallery:8101 (own pod)" in out


def test_command_line_check_rejects_a_misspelt_key(chart, tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"singleuser": {"memmory": {"limit": "2G"}}}))
    assert main(["check", str(VALUES), str(bad), "--chart", str(chart)]) == 1
    assert "'memmory' was unexpected" in capsys.readouterr().err


def test_gallery_container_may_only_switch_users_to_run_submitted_code(docs):
    """Root with six capabilities, so that the checks' kernels and Voilà run as accounts of their own, not as the gallery."""
    pod = docs[("Deployment", "gallery")]["spec"]["template"]["spec"]
    [container] = pod["containers"]
    caps = container["securityContext"]["capabilities"]
    assert caps["drop"] == ["ALL"]
    assert sorted(caps["add"]) == ["CHOWN", "DAC_OVERRIDE", "FOWNER", "KILL", "SETGID", "SETUID"]
    assert container["securityContext"]["allowPrivilegeEscalation"] is False
    assert pod["securityContext"]["runAsUser"] == 0 and pod["automountServiceAccountToken"] is False
    assert "privileged" not in container["securityContext"]
