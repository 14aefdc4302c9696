"""Classroom seats on the real cluster: what each learner's own kubeconfig may do, asked of the
API server with `kubectl auth can-i`, and what the seat's policies and quota refuse."""

from __future__ import annotations

import base64
import json
import os
import subprocess
import uuid
from pathlib import Path

import pytest
import yaml
from polling import wait_for

from docker2k8s.classroom import seats

pytestmark = pytest.mark.cluster

# (question, namespace: "own" / "other" / None for cluster-scoped, the answer a seat must get)
MATRIX = [
    ("create deployments", "own", True),
    ("create pods/exec", "own", True),
    ("create jobs.batch", "own", True),
    ("create httproutes.gateway.networking.k8s.io", "own", True),
    ("create deployments", "other", False),
    ("delete pods", "other", False),
    ("get secrets", "other", False),
    ("create pods/exec", "other", False),
    ("get configmaps", "other", False),
    ("get pods", "other", True),  # lab 09's `kubectl describe node` lists every Pod on a node
    ("create namespaces", None, False),
    ("delete namespaces", None, False),
    ("get nodes", None, True),
    ("patch nodes", None, False),
    ("create clusterroles", None, False),
    ("create clusterrolebindings", None, False),
    ("create persistentvolumes", None, False),
    ("create priorityclasses", None, True),  # lab 09; the seat's policy holds the names
    ("get secrets", "kube-system", False),
    ("create validatingadmissionpolicies", None, False),
]


@pytest.fixture(scope="module")
def classroom(cluster, tmp_path_factory):
    """Two seats of a roster, removed at the end (other seats on the cluster are left alone)."""
    tag = uuid.uuid4().hex[:4]
    learners = [f"a{tag}", f"b{tag}"]
    roster = tmp_path_factory.mktemp("roster") / "learners.csv"
    roster.write_text("id\n" + "\n".join(learners) + "\n")
    out = tmp_path_factory.mktemp("seats")
    made = subprocess.run(
        ["d2k", "classroom", "create", "--roster", str(roster), "--hours", "2", "--out", str(out)],
        capture_output=True,
        text=True,
    )
    assert made.returncode == 0, made.stderr
    yield learners, out
    seats.delete(learners)


def can(kubeconfig, question: str, namespace: str | None) -> bool:
    command = ["kubectl", "auth", "can-i", *question.split(), "--quiet"]
    command += ["-n", namespace] if namespace else []
    done = subprocess.run(
        command, env={**os.environ, "KUBECONFIG": str(kubeconfig)}, capture_output=True, text=True
    )
    assert done.returncode in (0, 1), done.stderr  # 0 yes, 1 no; anything else: it never asked
    return done.returncode == 0


def test_no_seat_reaches_another_or_writes_cluster_wide(classroom, artifacts):
    learners, out = classroom
    lines, wrong = [], []
    for learner, other in (learners, learners[::-1]):
        for question, where, expected in MATRIX:
            namespace = {"own": f"{learner}-lab03", "other": f"{other}-lab03"}.get(where, where)
            answer = can(out / f"{learner}.kubeconfig", question, namespace)
            verdict = "yes" if answer else "no"
            lines.append(f"{learner:8} {question:48} {namespace or '(cluster)':16} {verdict}")
            if answer != expected:
                wrong.append(lines[-1] + f" (expected {'yes' if expected else 'no'})")
    table = "\n".join(["seat     can-i" + " " * 44 + "namespace        answer", *lines])
    (artifacts / "classroom-can-i.txt").write_text(table + "\n")
    print(table)
    assert wrong == []


def test_policies_hold_a_seat_to_its_own_names_and_quota(classroom):
    (learner, _), out = classroom
    env = {**os.environ, "KUBECONFIG": str(out / f"{learner}.kubeconfig")}

    def apply(manifest: dict) -> subprocess.CompletedProcess:
        return subprocess.run(
            ["kubectl", "apply", "--dry-run=server", "-f", "-"],
            input=json.dumps(manifest),
            env=env,
            capture_output=True,
            text=True,
        )

    def priority_class(name: str, value: int) -> dict:
        kind = {"apiVersion": "scheduling.k8s.io/v1", "kind": "PriorityClass"}
        return {**kind, "metadata": {"name": name}, "value": value}

    assert apply(priority_class(f"{learner}-lab09-serving", 100000)).returncode == 0
    squatted = apply(priority_class("lab09-serving", 1000))
    assert f"a seat names its PriorityClasses {learner}-..." in squatted.stderr
    assert "at most 100000" in apply(priority_class(f"{learner}-top", 10**9)).stderr

    delete = ["kubectl", "delete", "resourcequota", "seat", "-n", f"{learner}-lab03"]
    kept = subprocess.run(delete, env=env, capture_output=True, text=True)
    assert "the seat's quota and defaults are the instructor's" in kept.stderr

    gpus = seats.Quota.gpus + 1
    pod = {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "greedy", "namespace": f"{learner}-lab03"},
        "spec": {
            "containers": [
                {"name": "x", "image": "x", "resources": {"limits": {"nvidia.com/gpu": gpus}}}
            ]
        },
    }
    refused = apply(pod)
    assert "exceeded quota: seat" in refused.stderr, refused.stderr


def test_credentials_expire_with_the_class_and_die_with_the_seat(cluster, tmp_path):
    learner = f"c{uuid.uuid4().hex[:4]}"
    (made,) = seats.create([learner], hours=1.5, out=tmp_path)
    token = token_of(made.kubeconfig)
    claims = json.loads(base64.urlsafe_b64decode(token.split(".")[1] + "=="))
    assert abs(claims["exp"] - claims["iat"] - 1.5 * 3600) < 60
    assert can(made.kubeconfig, "create deployments", f"{learner}-lab03")

    assert seats.delete([learner]) == [learner]
    wait_for(
        "the removed seat's token to be refused",
        lambda: not can(made.kubeconfig, "get nodes", None),
        30,
    )
    left = subprocess.run(
        ["kubectl", "get", "namespaces", "-l", f"docker2k8s/seat={learner}", "-o", "json"],
        capture_output=True,
        text=True,
        check=True,
    )
    phases = {ns["status"]["phase"] for ns in json.loads(left.stdout)["items"]}
    assert phases <= {"Terminating"}, "a namespace of the removed seat stays"


def token_of(kubeconfig: Path) -> str:
    return yaml.safe_load(kubeconfig.read_text())["users"][0]["user"]["token"]


@pytest.mark.parametrize(
    ("roster", "message"),
    [
        ("id\nalice\nalice\n", "line 3: 'alice' is in the roster twice"),
        ("Alice\n", "line 1: 'Alice' cannot start a namespace name"),
        ("id\n\n", "names no learner"),
        ("x" * 60 + "\n", "cannot start a namespace name"),
    ],
)
def test_a_bad_roster_names_the_line_and_the_fix(roster, message, tmp_path, d2k):
    path = tmp_path / "learners.csv"
    path.write_text(roster)
    done = d2k("classroom", "create", "--roster", str(path), "--out", str(tmp_path / "seats"))
    assert done.returncode == 2, done.stderr
    assert message in done.stderr
    assert "Traceback" not in done.stderr
    assert not (tmp_path / "seats").exists()
