"""deploy/: the KubeRay manifest, checked offline.

Core kinds (ConfigMap, Service) are validated strictly against the Kubernetes OpenAPI schemas
that the ``kubernetes-validate`` package ships; the RayCluster's pod templates, which are core
PodTemplateSpecs inside KubeRay's custom resource, are validated the same way, and the rest of
the RayCluster against what KubeRay requires of it. The stations configuration in the ConfigMap
is loaded by genrecast's own configuration loader.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.common import REPO

yaml = pytest.importorskip("yaml")
kubernetes_validate = pytest.importorskip("kubernetes_validate")

DEPLOY = REPO / "deploy"
K8S_VERSION = "1.30"  # the oldest Kubernetes the manifest promises to work on


def _docs() -> dict[str, dict[str, Any]]:
    docs = [d for d in yaml.safe_load_all((DEPLOY / "raycluster.yaml").read_text()) if d]
    return {d["kind"]: d for d in docs}


def _validate(resource: dict[str, Any]) -> None:
    kubernetes_validate.validate(resource, K8S_VERSION, strict=True)


def _pod_templates(cluster: dict[str, Any]) -> list[dict[str, Any]]:
    spec = cluster["spec"]
    return [spec["headGroupSpec"]["template"]] + [g["template"]
                                                  for g in spec["workerGroupSpecs"]]


def test_core_resources_validate_strictly() -> None:
    docs = _docs()
    assert set(docs) == {"ConfigMap", "RayCluster", "Service"}
    _validate(docs["ConfigMap"])
    _validate(docs["Service"])


def test_every_pod_template_validates_strictly() -> None:
    for i, template in enumerate(_pod_templates(_docs()["RayCluster"])):
        _validate({"apiVersion": "v1", "kind": "PodTemplate",
                   "metadata": {"name": f"group-{i}"}, "template": template})


def test_a_wrong_field_in_a_pod_template_is_caught() -> None:
    """The check above can fail: a misspelt container field is refused."""
    template = _pod_templates(_docs()["RayCluster"])[0]
    template["spec"]["containers"][0]["resourcez"] = template["spec"]["containers"][0].pop(
        "resources")
    with pytest.raises(kubernetes_validate.ValidationError):
        _validate({"apiVersion": "v1", "kind": "PodTemplate", "metadata": {"name": "bad"},
                   "template": template})


def test_the_raycluster_is_what_kuberay_expects() -> None:
    cluster = _docs()["RayCluster"]
    assert cluster["apiVersion"] == "ray.io/v1"
    spec = cluster["spec"]
    head = spec["headGroupSpec"]
    groups = [head] + spec["workerGroupSpecs"]
    for group in groups:  # KubeRay passes these to `ray start` as --KEY=VALUE: strings only
        assert all(isinstance(v, str) for v in group["rayStartParams"].values()), group
    assert head["rayStartParams"]["num-cpus"] == "0"  # the head carries no stations
    for group in spec["workerGroupSpecs"]:
        assert group["groupName"]
        assert group["minReplicas"] <= group["replicas"] <= group["maxReplicas"]
        assert float(group["rayStartParams"]["num-cpus"]) > 0
    images = {c["image"] for t in _pod_templates(cluster) for c in t["spec"]["containers"]}
    assert len(images) == 1, images  # one image: Ray refuses mixed versions
    major, minor = (int(x) for x in spec["rayVersion"].split(".")[:2])
    pyproject = (REPO / "pyproject.toml").read_text()
    floor = re.search(r'cluster = \["ray>=(\d+)\.(\d+)', pyproject)
    assert floor is not None
    assert (major, minor) >= (int(floor.group(1)), int(floor.group(2)))


def test_the_driver_runs_beside_the_head_with_the_stations() -> None:
    docs = _docs()
    head_pod = docs["RayCluster"]["spec"]["headGroupSpec"]["template"]["spec"]
    driver = next(c for c in head_pod["containers"] if c["name"] == "genrecast")
    command = " ".join(driver["command"] + driver["args"])
    assert "genrecast cluster run --address auto -c /etc/genrecast/stations.toml" in command
    mounts = {m["mountPath"]: m["name"] for m in driver["volumeMounts"]}
    volumes = {v["name"]: v for v in head_pod["volumes"]}
    assert volumes[mounts["/etc/genrecast"]]["configMap"]["name"] == \
        docs["ConfigMap"]["metadata"]["name"]
    ray_head = next(c for c in head_pod["containers"] if c["name"] == "ray-head")
    assert {m["mountPath"] for m in ray_head["volumeMounts"]} >= {"/tmp/ray"}
    assert mounts["/tmp/ray"] in volumes  # the driver finds the head's Ray (address auto)
    # The Service reaches the head pod (KubeRay's labels) on ports the driver listens on.
    service = docs["Service"]["spec"]
    assert service["selector"] == {"ray.io/cluster": docs["RayCluster"]["metadata"]["name"],
                                   "ray.io/node-type": "head"}
    ports = {p["containerPort"] for p in driver["ports"]}
    assert {p["targetPort"] for p in service["ports"]} <= ports


def test_the_stations_load_as_genrecast_s_configuration(tmp_path: Path) -> None:
    from genrecast.daemon.service.config_file import load_settings

    token = tmp_path / "token"
    token.write_text("a-long-random-token-for-the-test\n")
    text = _docs()["ConfigMap"]["data"]["stations.toml"]
    config = tmp_path / "stations.toml"
    config.write_text(text.replace("/etc/genrecast-web/token", str(token)))
    settings = load_settings(config)
    assert settings.sources and all(s.kind == "url" for s in settings.sources)
    assert settings.publish.endpoint == "tcp://0.0.0.0:5555"
    assert settings.web.listen == "0.0.0.0:8090"


def test_the_image_has_what_kuberay_and_the_cluster_need() -> None:
    text = (DEPLOY / "Containerfile").read_text()
    assert '"/src[cluster]"' in text  # genrecast with Ray
    assert "ray[default]" in text  # the dashboard agent KubeRay's probes ask
    assert re.search(r"\bwget\b", text)  # KubeRay's readiness probes run wget
