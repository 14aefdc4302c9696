"""The `external` provider, pointed at the running cluster through a kubeconfig of its own (as a
reader points it at a company cluster): `d2k cluster use`, then `status` reports what the labs
need and, for a user with fewer rights or no registry, what is missing and the fix.

Each test runs d2k with HOME in a temporary directory, so the workshop's own record and
~/.kube/config are never touched."""

from __future__ import annotations

import json
import os
import subprocess
import urllib.request
import uuid
from pathlib import Path

import pytest
import yaml

from docker2k8s.cluster import Provider, registry
from docker2k8s.cluster.names import CONTEXT_NAME
from docker2k8s.cluster.node_images import PAUSE

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
    table = " ".join(_rows(status).split())  # the table wraps long cells
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
