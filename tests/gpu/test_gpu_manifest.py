"""The DaemonSet manifest, as d2k renders it for each provider, is valid Kubernetes of the pinned
release and wires the plugin as the kubelet needs."""

from __future__ import annotations

from typing import Any

import pytest
import schemas
import yaml

from docker2k8s import versions
from docker2k8s.cluster.addons import by_name
from docker2k8s.cluster.kind import KindProvider
from docker2k8s.cluster.local import LocalProvider
from docker2k8s.gpu.image import DOCKERFILE, image_name

EXAMPLE = DOCKERFILE.parent / "examples" / "two-gpus.yaml"


@pytest.fixture(scope="module", params=[LocalProvider, KindProvider], ids=["local", "kind"])
def provider(request: pytest.FixtureRequest) -> LocalProvider | KindProvider:
    return request.param()


@pytest.fixture(scope="module")
def documents(provider) -> dict[str, dict[str, Any]]:
    text = by_name("gpu").manifest(provider)
    return {doc["kind"]: doc for doc in yaml.safe_load_all(text) if doc}


def test_every_document_is_valid_kubernetes(documents: dict[str, dict[str, Any]]) -> None:
    assert set(documents) == {"ServiceAccount", "ClusterRole", "ClusterRoleBinding", "DaemonSet"}
    for doc in documents.values():
        schemas.validate(doc)


def test_daemonset_runs_the_locally_built_image(documents: dict[str, dict[str, Any]]) -> None:
    (container,) = documents["DaemonSet"]["spec"]["template"]["spec"]["containers"]
    assert container["image"] == image_name() == f"docker2k8s/gpu-plugin:{versions.APPS}"
    assert container["imagePullPolicy"] in ("Never", "IfNotPresent")


def test_daemonset_mounts_the_device_plugin_directory(documents: dict[str, dict[str, Any]]) -> None:
    pod = documents["DaemonSet"]["spec"]["template"]["spec"]
    (volume,) = pod["volumes"]
    # The device-plugin API's fixed path: the kubelet serves it whatever its --root-dir.
    assert volume["hostPath"]["path"] == "/var/lib/kubelet/device-plugins"
    (mount,) = pod["containers"][0]["volumeMounts"]
    assert (mount["name"], mount["mountPath"]) == (volume["name"], volume["hostPath"]["path"])
    env = {e["name"]: e for e in pod["containers"][0]["env"]}
    assert env["NODE_NAME"]["valueFrom"]["fieldRef"]["fieldPath"] == "spec.nodeName"
    assert any(t["key"] == "nvidia.com/gpu" for t in pod["tolerations"])


def test_service_account_may_label_nodes(documents: dict[str, dict[str, Any]]) -> None:
    pod = documents["DaemonSet"]["spec"]["template"]["spec"]
    account = documents["ServiceAccount"]["metadata"]
    binding = documents["ClusterRoleBinding"]
    assert pod["serviceAccountName"] == account["name"]
    assert binding["subjects"] == [
        {"kind": "ServiceAccount", "name": account["name"], "namespace": account["namespace"]}
    ]
    assert binding["roleRef"]["name"] == documents["ClusterRole"]["metadata"]["name"]
    (rule,) = documents["ClusterRole"]["rules"]
    assert rule["resources"] == ["nodes"]
    assert {"get", "patch"} <= set(rule["verbs"])


def test_example_pod_is_valid_and_asks_for_two_gpus() -> None:
    pod = yaml.safe_load(EXAMPLE.read_text())
    schemas.validate(pod)
    (container,) = pod["spec"]["containers"]
    assert container["image"] == image_name()
    assert container["resources"]["limits"] == {"nvidia.com/gpu": 2}
