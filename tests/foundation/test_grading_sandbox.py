"""What a graded learner's code can reach: run as a learner who tries, and read what it got.

Each test grades a notebook whose exercise probes the sandbox and assigns what it found; the grader
captures those values (grade(capture=True)), so the test reads what the kernel really saw.
"""

from __future__ import annotations

import ast
import os
import subprocess
from pathlib import Path

import nbformat
import pytest
from kubernetes.client import CoreV1Api
from kubernetes.client.exceptions import ApiException
from polling import wait_for

from docker2k8s.grading import access, kube
from docker2k8s.grading.grader import grade
from docker2k8s.grading.sandbox import COMPOSE_SECRETS, LEARNER
from docker2k8s.labs import SOLUTIONS_DIR
from docker2k8s.paths import REPO_ROOT


@pytest.fixture(autouse=True)
def as_root() -> None:
    """Only root can drop to d2k-learner: as anyone else the kernel runs unsandboxed."""
    if os.geteuid() != 0:
        pytest.fail("the sandbox drops root to d2k-learner: run the tests as root (sudo make test)")


MARKER = "987654"  # the argument of a background process the sandbox must not outlive

PROBES = f"""
### BEGIN SOLUTION
import os, socket, subprocess
from pathlib import Path

def attempt(action):
    try:
        action()
        return "allowed"
    except Exception as error:
        return type(error).__name__

def docker_socket():
    with socket.socket(socket.AF_UNIX) as s:
        s.connect("/var/run/docker.sock")

subprocess.Popen(["sleep", "{MARKER}"], start_new_session=True)
uid = os.getuid()
solutions_seen = sorted(os.listdir({str(SOLUTIONS_DIR)!r}))
read_solution = attempt(lambda: Path(SOLUTION).read_text())
read_admin_config = attempt(lambda: (Path("/root") / ".kube" / "config").read_text())
write_repo = attempt(lambda: (Path({str(REPO_ROOT)!r}) / "forged.txt").write_text("x"))
write_workspace = attempt(lambda: Path("mine.txt").write_text("x"))
docker = attempt(docker_socket)
cluster_state = attempt(lambda: os.listdir("/var/lib/docker2k8s"))
compose_password = ""
if attempt(lambda: Path({str(COMPOSE_SECRETS / "db_password.secret")!r}).read_text()) == "allowed":
    compose_password = Path({str(COMPOSE_SECRETS / "db_password.secret")!r}).read_text()
### END SOLUTION
"""


def _solution(path: Path, permissions: dict, *cells: str) -> Path:
    setup = nbformat.v4.new_code_cell(f"SOLUTION = {str(path)!r}")
    setup.metadata["tags"] = ["checker"]
    nb = nbformat.v4.new_notebook(cells=[setup, *map(nbformat.v4.new_code_cell, cells)])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python", "language": "python"}
    nb.metadata["d2k"] = {"permissions": permissions}
    nbformat.write(nb, path)
    return path


def _seen(report) -> dict:
    (values,) = report.answers.values()
    return {name: ast.literal_eval(text) for name, text in values.items()}


def test_the_kernel_runs_unprivileged_and_sees_no_secret(tmp_path):
    solution = _solution(tmp_path / "probe.ipynb", {}, PROBES)
    report = grade(solution, solution, cell_timeout=120, capture=True)
    seen = _seen(report)
    assert seen["uid"] not in (0, os.getuid())
    assert seen["solutions_seen"] == []
    assert seen["read_solution"] != "allowed"
    assert seen["read_admin_config"] != "allowed"
    assert seen["write_repo"] != "allowed" and not (REPO_ROOT / "forged.txt").exists()
    assert seen["write_workspace"] == "allowed"
    assert seen["docker"] == "PermissionError"  # the lab did not ask for Docker
    assert seen["cluster_state"] != "allowed"
    assert LEARNER in report.sandbox
    wait_for(  # the sandbox's init kills what is left a moment after the kernel exits
        "the process the kernel started to end with the sandbox",
        lambda: subprocess.run(["pgrep", "-f", f"sleep {MARKER}"]).returncode == 1,
        timeout=10,
    )


def test_a_lab_that_uses_docker_gets_its_socket(tmp_path):
    solution = _solution(tmp_path / "probe.ipynb", {"docker": True}, PROBES)
    seen = _seen(grade(solution, solution, cell_timeout=120, capture=True))
    assert seen["docker"] == "allowed"
    assert seen["uid"] != 0
    # The Compose stack's passwords: Docker mounts the very files the kernel reads.
    assert seen["compose_password"] == (COMPOSE_SECRETS / "db_password.secret").read_text()


CAN_I = """
### BEGIN SOLUTION
import subprocess

def can(*args):
    done = subprocess.run(["kubectl", "auth", "can-i", *args], capture_output=True, text=True)
    return done.stdout.strip() or done.stderr.strip()

matrix = {
    "create pods in its namespace": can("create", "pods", "-n", NS),
    "create roles in its namespace": can("create", "roles", "-n", NS),
    "list nodes": can("list", "nodes"),
    "get secrets in kube-system": can("get", "secrets", "-n", "kube-system"),
    "create pods in default": can("create", "pods", "-n", "default"),
    "create namespaces": can("create", "namespaces"),
    "delete its namespace": can("delete", f"namespace/{NS}"),
    "patch the status of its Pods": can("patch", "pods", "--subresource=status", "-n", NS),
    "delete nodes": can("delete", "nodes"),
    "create clusterrolebindings": can("create", "clusterrolebindings"),
}
me = subprocess.run(["kubectl", "auth", "whoami", "-o", "jsonpath={.status.userInfo.username}"],
                    capture_output=True, text=True).stdout
privileged = subprocess.run(
    ["kubectl", "run", "-n", NS, "root", "--image=docker2k8s/base", "--restart=Never",
     "--overrides", '{"spec": {"containers": [{"name": "root", "image": "docker2k8s/base", '
     '"securityContext": {"privileged": true}}]}}'],
    capture_output=True, text=True,
).stderr
### END SOLUTION
"""


@pytest.mark.cluster
def test_the_kernel_may_only_touch_its_own_namespace(tmp_path, cluster):
    ns = "d2k-sandbox-test"
    solution = _solution(
        tmp_path / "can-i.ipynb",
        {"namespaces": [ns], "cluster_read": True},
        f"NS = {ns!r}",
        CAN_I,
    )
    seen = _seen(grade(solution, solution, cell_timeout=120, capture=True))
    print("\n".join(f"{k:32} {v}" for k, v in seen["matrix"].items()))  # the can-i table
    allowed = {k for k, v in seen["matrix"].items() if v == "yes"}
    assert allowed == {
        "create pods in its namespace",
        "create roles in its namespace",
        "list nodes",
    }
    assert "violates PodSecurity" in seen["privileged"]
    core = CoreV1Api(kube.client().client)
    with pytest.raises(ApiException) as gone:
        core.read_namespace(ns)
    assert gone.value.status == 404, "the grader deletes the lab's namespace after the run"
    namespace, name = seen["me"].split(":")[2:]  # system:serviceaccount:NAMESPACE:NAME
    assert namespace == access.GRADING_NAMESPACE and name.startswith("learner-")
    with pytest.raises(ApiException) as revoked:  # (other gradings may be running beside it)
        core.read_namespaced_service_account(name, namespace)
    assert revoked.value.status == 404, "the grader deletes the kernel's ServiceAccount after"


def test_unknown_permission_keys_are_refused():
    with pytest.raises(access.PermissionsError, match="unknown keys: dockr"):
        access.permissions_of({"metadata": {"d2k": {"permissions": {"dockr": True}}}})
