"""The `external` provider, pointed at the running cluster through a kubeconfig of its own (as a
reader points it at a company cluster): `d2k cluster use`, then `status` reports what the labs
need and, for a user with fewer rights or no registry, what is missing and the fix.

Each test runs d2k with HOME in a temporary directory, so the workshop's own record and
~/.kube/config are never touched."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml
from kubernetes import client
from polling import wait_for

from docker2k8s.cluster import Provider, registry
from docker2k8s.cluster.names import CONTEXT_NAME
from docker2k8s.cluster.node_images import PAUSE, TRAEFIK
from docker2k8s.labs import SOLUTIONS_DIR

pytestmark = pytest.mark.cluster


def _company_kubeconfig(cluster: Provider, path: Path, token: str | None = None) -> Path:
    """The cluster's kubeconfig with its context called `company` (and a token user if given)."""
    config = yaml.safe_load(cluster.kubeconfig().read_text())
    for context in config["contexts"]:
        context["name"] = "company"
    config["current-context"] = "company"
    if token:
        config["users"][0]["user"] = {"token": token}
    path.write_text(yaml.safe_dump(config))
    path.chmod(0o600)
    return path


def _d2k(d2k, home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return d2k(*args, env={**os.environ, "HOME": str(home)})


def _rows(done: subprocess.CompletedProcess[str]) -> str:
    return done.stdout + done.stderr


def test_status_reports_what_the_labs_need(d2k, cluster: Provider, tmp_path: Path) -> None:
    source = _company_kubeconfig(cluster, tmp_path / "company.yaml")
    used = _d2k(d2k, tmp_path, "cluster", "use", "company", "--kubeconfig", str(source),
                "--registry", registry.REGISTRY)  # fmt: skip
    assert used.returncode == 0, _rows(used)
    assert "cluster ready (external)" in used.stderr
    merged = yaml.safe_load((tmp_path / ".kube" / "config").read_text())
    assert CONTEXT_NAME in [c["name"] for c in merged["contexts"]]

    status = _d2k(d2k, tmp_path, "cluster", "status")
    table = _rows(status)
    assert status.returncode == 0, table
    assert "provider external" in table
    needs = ["GPUs", "default StorageClass", "metrics API", "batch queue", "permissions"]
    for row in [*needs, "Ingress and Gateway API"]:
        assert row in table, row
    assert "NVIDIA-A100-SXM4-40GB" in table and f"images go to {registry.REGISTRY}" in table


def test_status_names_what_is_missing_and_the_fix(
    d2k, cluster: Provider, kubectl, namespace: str, tmp_path: Path
) -> None:
    """A user who may only read, and no registry: both are reported, each with the fix."""
    kubectl("-n", namespace, "create", "serviceaccount", "reader")
    kubectl("create", "clusterrolebinding", f"{namespace}-reader", "--clusterrole=view",
            f"--serviceaccount={namespace}:reader")  # fmt: skip
    try:
        token = kubectl("-n", namespace, "create", "token", "reader").stdout.strip()
        source = _company_kubeconfig(cluster, tmp_path / "reader.yaml", token=token)
        assert _d2k(d2k, tmp_path, "cluster", "use", "company", "--kubeconfig",
                    str(source)).returncode == 0  # fmt: skip
        status = _d2k(d2k, tmp_path, "cluster", "status")
    finally:
        kubectl("delete", "clusterrolebinding", f"{namespace}-reader")
    # The table wraps long cells onto lines whose other cells are empty: drop the borders.
    table = " ".join(_rows(status).replace("│", " ").split())
    assert status.returncode == 1, table
    assert "not allowed: create namespaces" in table and "ask the cluster's admins" in table
    assert "d2k cluster use CONTEXT --registry HOST/PATH" in table


def test_images_reach_an_external_cluster_through_its_registry(
    d2k, cluster: Provider, tmp_path: Path
) -> None:
    ref = f"d2k-test/external-{uuid.uuid4().hex[:8]}:1"
    subprocess.run(["docker", "tag", PAUSE.ref, ref], check=True)
    try:
        source = _company_kubeconfig(cluster, tmp_path / "company.yaml")
        _d2k(d2k, tmp_path, "cluster", "use", "company", "--kubeconfig", str(source),
             "--registry", registry.REGISTRY)  # fmt: skip
        loaded = _d2k(d2k, tmp_path, "images", "load", ref)
    finally:
        subprocess.run(["docker", "rmi", ref], capture_output=True)
    assert loaded.returncode == 0, _rows(loaded)
    repository, _, tag = ref.partition(":")
    url = f"http://{registry.REGISTRY}/v2/{repository}/tags/list"
    with urllib.request.urlopen(url, timeout=5) as answer:
        assert json.load(answer)["tags"] == [tag]


def test_an_unknown_context_lists_the_known_ones(d2k, cluster: Provider, tmp_path: Path) -> None:
    source = _company_kubeconfig(cluster, tmp_path / "company.yaml")
    done = _d2k(d2k, tmp_path, "cluster", "use", "nowhere", "--kubeconfig", str(source))
    assert done.returncode == 1
    assert "has no context 'nowhere' (it has: company)" in done.stderr


EXTERNAL_REGISTRY = f"{registry.REGISTRY}/company"  # a path no mirror maps: only pushes land there
PREFIX = "company-"
# The workshop images each lab runs on the cluster.
LAB_IMAGES = {
    "03": ["docker2k8s/inference:0.1.0"],
    "04": ["docker2k8s/inference:0.1.0", "docker2k8s/inference:0.2.0"],
    "05": ["docker2k8s/inference:0.1.0"],
    "06": ["docker2k8s/inference:0.1.0", "docker2k8s/db:0.1.0"],
    "07": ["docker2k8s/inference:0.1.0", "docker2k8s/db:0.1.0", "docker2k8s/chat:0.1.0"],
}


@pytest.fixture(scope="module")
def company_home(d2k, cluster: Provider, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A reader's HOME with the running cluster chosen as `external`: its own registry path,
    namespaces with a prefix."""
    home = tmp_path_factory.mktemp("company")
    source = _company_kubeconfig(cluster, home / "company.yaml")
    used = _d2k(d2k, home, "cluster", "use", "company", "--kubeconfig", str(source),
                "--registry", EXTERNAL_REGISTRY, "--namespace-prefix", PREFIX)  # fmt: skip
    assert used.returncode == 0, _rows(used)
    return home


@pytest.mark.parametrize(
    "name", [p.name for p in sorted(SOLUTIONS_DIR.glob("0[3-7]-*.ipynb"))]
)  # fmt: skip
def test_labs_run_unchanged_on_an_external_cluster(
    d2k, core: client.CoreV1Api, company_home: Path, name: str, tmp_path: Path
) -> None:
    """Labs 03-07 as a reader runs them on a cluster of their own: images pushed to its registry
    and pulled from there by name, the lab's namespace with the reader's prefix."""
    report = tmp_path / "report.json"
    done = _d2k(d2k, company_home, "grade", str(SOLUTIONS_DIR / name), "--json", str(report))
    assert done.returncode == 0, _rows(done)[-3000:]
    graded = json.loads(report.read_text())
    assert graded["total"] >= 3 and graded["score"] == 1.0, (graded, done.stdout[-3000:])

    # The Pods ran images pulled from the registry by its name (nothing else could start them):
    # the node holds a digest of that repository, which only a pull records, once the kubelet's
    # image cache (refreshed every 30 s) reaches the node status. Digests, not tags: the node
    # status lists 5 names per image, digests first, and the same image has more tags than that
    # once lab 03 has pushed it to the cluster's registries.
    def held() -> set[str]:
        return {
            name
            for node in core.list_node().items
            for image in node.status.images or []
            for name in image.names or []
        }

    for image in LAB_IMAGES[name[:2]]:
        repository = f"{EXTERNAL_REGISTRY}/{image.rpartition(':')[0]}"
        wait_for(
            f"the node to list an image pulled from {repository}",
            lambda repository=repository: any(n.startswith(repository + "@") for n in held()),
            timeout=90,
        )


def test_install_addons_puts_back_what_the_cluster_lacks(
    d2k, cluster: Provider, kubectl, tmp_path: Path
) -> None:
    """Without Gateway API/Ingress and without the ClusterQueue, `use --install-addons` installs
    the gateway and Kueue add-ons through the registry, their webhooks trusted through a CA of
    the workshop's own (d2k holds no CA key of a cluster it does not run)."""
    kubectl("-n", "traefik", "delete", "gateway", "traefik-gateway", "--wait=true")
    kubectl("delete", "gatewayclass/traefik", "ingressclass/traefik", "--wait=true")
    kubectl("delete", "namespace", "traefik", "--wait=true")
    kubectl("delete", "clusterqueue", "gpus", "--wait=true")
    try:
        source = _company_kubeconfig(cluster, tmp_path / "company.yaml")
        used = _d2k(d2k, tmp_path, "cluster", "use", "company", "--kubeconfig", str(source),
                    "--registry", EXTERNAL_REGISTRY, "--install-addons")  # fmt: skip
        assert used.returncode == 0, _rows(used)
        for addon in ("gateway", "kueue"):
            assert f"add-on {addon}" in used.stderr, used.stderr

        def healthy() -> str:  # the ClusterQueue turns active a moment after it is applied
            status = _d2k(d2k, tmp_path, "cluster", "status")
            return " ".join(_rows(status).split()) if status.returncode == 0 else ""

        table = wait_for("status all ok", healthy, 60)
        assert "IngressClass traefik (default), GatewayClass traefik" in table
        assert "ClusterQueue gpus active" in table
        images = "jsonpath={.items[*].spec.template.spec.containers[*].image}"
        running = kubectl("get", "deployments", "-n", "traefik", "-o", images).stdout
        assert running == registry.target(TRAEFIK.ref, EXTERNAL_REGISTRY)
        ca = (tmp_path / ".kube" / "docker2k8s-external-ca.crt").read_text()
        kueue = "app.kubernetes.io/name=kueue"
        hooks = kubectl("get", "validatingwebhookconfigurations", "-l", kueue, "-o", "json")
        bundle = json.loads(hooks.stdout)["items"][0]["webhooks"][0]["clientConfig"]["caBundle"]
        assert base64.b64decode(bundle).decode() == ca
    finally:
        restored = d2k("cluster", "up")  # the workshop's own record: the local cluster again
        assert restored.returncode == 0, _rows(restored)
        # Kueue and Traefik roll back to the node's own images and the cluster CA.
        wait_for("every add-on rolled out", lambda: d2k("cluster", "status").returncode == 0, 120)


def test_bad_use_options_name_the_fix(d2k, tmp_path: Path) -> None:
    prefix = _d2k(d2k, tmp_path, "cluster", "use", "company", "--namespace-prefix", "Team_A")
    assert prefix.returncode == 1
    assert "--namespace-prefix 'Team_A' cannot start a namespace name" in prefix.stderr
    assert "lowercase letters, digits and '-'" in prefix.stderr
    addons = _d2k(d2k, tmp_path, "cluster", "use", "company", "--install-addons")
    assert addons.returncode == 1
    assert "--install-addons needs --registry" in addons.stderr
