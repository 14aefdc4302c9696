"""The Kubernetes-aware conditions used by lab checks, against the real cluster."""

import os
import subprocess
import sys
import time
import uuid

import pytest

from docker2k8s.cluster.node_images import PAUSE
from docker2k8s.grading import kube

pytestmark = pytest.mark.cluster

DEPLOYMENT = """
apiVersion: apps/v1
kind: Deployment
metadata: {name: hello, namespace: NS}
spec:
  replicas: 2
  selector: {matchLabels: {app: hello}}
  template:
    metadata: {labels: {app: hello}}
    spec:
      containers:
        - name: hello
          image: IMAGE  # the sandbox image: always in the cluster
          imagePullPolicy: Never
"""


@pytest.fixture(scope="module")
def namespace(cluster):
    name = f"checks-{uuid.uuid4().hex[:6]}"
    subprocess.run(["kubectl", "create", "namespace", name], check=True, capture_output=True)
    manifest = DEPLOYMENT.replace("NS", name).replace("IMAGE", PAUSE.ref)
    subprocess.run(["kubectl", "apply", "-f", "-"], input=manifest, text=True, check=True)
    yield name
    subprocess.run(["kubectl", "delete", "namespace", name, "--wait=false"], check=True)


def test_get_and_fields(namespace):
    deployment = kube.get("Deployment", "hello", namespace)
    assert kube.field(deployment, "spec.template.spec.containers[0].name") == "hello"
    assert kube.has_field("Deployment", "hello", namespace, "spec.replicas", 2) == 2
    with pytest.raises(AssertionError, match=r"spec\.replicas is 2, expected 3"):
        kube.has_field("Deployment", "hello", namespace, "spec.replicas", 3)
    with pytest.raises(AssertionError, match="is not set"):
        kube.field(deployment, "spec.template.spec.containers[1].name")


def test_missing_object_names_itself(namespace):
    with pytest.raises(AssertionError, match=f"no Service named 'nope' in namespace {namespace}"):
        kube.get("Service", "nope", namespace)


def test_unknown_kind_lists_the_known_ones():
    with pytest.raises(ValueError, match=r"unknown kind .Deploymnet.; known: (.*, )?ConfigMap, "):
        kube.get("Deploymnet", "x", "default")


def test_rollout_and_pods_ready(namespace):
    kube.deployment_available("hello", namespace, replicas=2, timeout=120)
    pods = kube.pods_ready(namespace, "app=hello", count=2, timeout=60)
    kube.pod_ready(pods[0]["metadata"]["name"], namespace, timeout=10)
    with pytest.raises(
        AssertionError, match="2 of 2 Pods matching 'app=hello' are Ready, expected 3"
    ):
        kube.pods_ready(namespace, "app=hello", count=3, timeout=2)
    with pytest.raises(AssertionError, match="wants 2 replicas, expected 5"):
        kube.deployment_available("hello", namespace, replicas=5, timeout=1)


def test_a_missing_deployment_is_not_waited_for(namespace):
    """Only a person makes a Deployment: if there is none when its check runs, there will be none
    (the waiting a rollout gets is for the controllers)."""
    started = time.monotonic()
    with pytest.raises(
        AssertionError, match=f"no Deployment named 'nope' in namespace {namespace}"
    ):
        kube.deployment_available("nope", namespace, timeout=600)
    assert time.monotonic() - started < 60, "it waited for a Deployment nobody makes"


def test_a_pod_nobody_made_or_no_node_can_pull_is_not_waited_for(namespace):
    """A bare Pod is made by a person: absent after 5 s, it will stay absent. An image the node
    cannot pull stays unpulled: the check says so at once, with the kubelet's reason."""
    started = time.monotonic()
    with pytest.raises(AssertionError, match=f"no Pod named 'nope' in namespace {namespace}"):
        kube.pod_ready("nope", namespace, timeout=600)
    assert time.monotonic() - started < 30, "it waited for a Pod nobody makes"

    image = "docker2k8s/never-built:0.0.0"
    run = ["kubectl", "run", "unpullable", "-n", namespace, f"--image={image}", "--restart=Never"]
    subprocess.run([*run, "--image-pull-policy=Never"], check=True, capture_output=True)
    started = time.monotonic()
    with pytest.raises(kube.WillNotHappen, match=f"cannot pull {image} .ErrImageNeverPull"):
        kube.pod_ready("unpullable", namespace, timeout=600)
    assert time.monotonic() - started < 60, "it waited for an image the node cannot pull"


def test_pods_no_workload_makes_are_not_waited_for(namespace):
    started = time.monotonic()
    with pytest.raises(kube.WillNotHappen, match="no Pod matches 'app=nope,tier=x' in namespace"):
        kube.pods_ready(namespace, "app=nope,tier=x", count=1, timeout=600)
    assert time.monotonic() - started < 30, "it waited for Pods no workload makes"
    with pytest.raises(AssertionError, match="2 of 2 Pods matching 'app==hello' are Ready"):
        kube.pods_ready(namespace, "app==hello", count=3, timeout=8)  # the Deployment makes them


def test_node_has_image(cluster):
    # The sandbox image is always on the node, listed under its full name.
    assert kube.node_has_image(PAUSE.ref.removeprefix("localhost/"))
    assert not kube.node_has_image("docker2k8s/pause:0.0.0-never-built")


@pytest.mark.parametrize("current", ['""', None], ids=["no-current-context", "no-kubeconfig"])
def test_no_cluster_to_read_names_the_fix(current, tmp_path):
    """After `d2k cluster down` the kubeconfig has no current context (or there is none at all):
    a check says so and what to run, not the client's parsing error."""
    kubeconfig = tmp_path / "config"
    if current is not None:
        kubeconfig.write_text(
            "apiVersion: v1\nkind: Config\nclusters: []\nusers: []\n"
            f"contexts: []\ncurrent-context: {current}\n"
        )
    env = {k: v for k, v in os.environ.items() if k != "D2K_KUBE_CONTEXT"}
    code = "from docker2k8s.grading import kube; kube.get('Pod', 'inference', 'lab03')"
    done = subprocess.run(
        [sys.executable, "-c", code],
        env={**env, "KUBECONFIG": str(kubeconfig)},  # read when the client library loads
        capture_output=True,
        text=True,
    )
    last = done.stderr.strip().splitlines()[-1]
    assert last.startswith("AssertionError: no cluster to read"), done.stderr
    assert "`d2k cluster up`" in last
