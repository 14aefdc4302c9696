"""A seat per learner on the current cluster (`d2k classroom create`, `d2k classroom delete`).

A seat is what lets one learner run every lab beside the others without reaching them:
- the labs' namespaces with the learner's prefix (alice-lab03 ...), made by the instructor, each
  with a ResourceQuota, a LimitRange and Kueue's LocalQueue gpu-jobs (cluster/classroom/);
- a ServiceAccount `alice` in the namespace d2k-classroom, bound in those namespaces to every
  namespaced resource (the grader's owner role, less /status), cluster-wide to reading what the
  labs read, and to the labs' own cluster-wide rules (lab 09's PriorityClasses, which a policy
  holds to names starting with `alice-`);
- a kubeconfig with that ServiceAccount's token, expiring with the class.
The labs' namespaces and rules come from the solutions' `d2k.permissions`, as in grading.
"""

from __future__ import annotations

import csv
import re
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import cache
from pathlib import Path
from string import Template
from typing import Any

import nbformat
import yaml
from kubernetes import client as k8s
from kubernetes import dynamic
from kubernetes.client.exceptions import ApiException

from docker2k8s.errors import D2KError
from docker2k8s.grading import access
from docker2k8s.labs import SOLUTIONS_DIR
from docker2k8s.paths import REPO_ROOT

CLASSROOM_NAMESPACE = "d2k-classroom"  # where the seats' ServiceAccounts live
SEAT_LABEL = "docker2k8s/seat"
FIELD_MANAGER = "d2k-classroom"
TEMPLATES = REPO_ROOT / "cluster" / "classroom"
# A learner id starts each of their namespace names: a DNS label, short enough for the longest.
LEARNER_ID = re.compile(r"[a-z0-9]([-a-z0-9]*[a-z0-9])?")


class ClassroomError(D2KError):
    exit_code = 2


@dataclass(frozen=True)
class Quota:
    """What each namespace of a seat may hold at once."""

    gpus: int = 4
    cpu: str = "2"
    memory: str = "6Gi"
    pods: int = 20
    storage: str = "10Gi"


@dataclass(frozen=True)
class Seat:
    learner: str
    namespaces: list[str]
    kubeconfig: Path
    expires: datetime


def read_roster(path: Path) -> list[str]:
    """Learner ids from the first column of a CSV file (a header `id` or `learner` is skipped)."""
    if not path.is_file():
        raise ClassroomError(f"no roster at {path}", fix="a CSV file, one learner id per line")
    learners: list[str] = []
    with path.open(newline="") as rows:
        for number, row in enumerate(csv.reader(rows), start=1):
            cell = row[0].strip() if row else ""
            if not cell or (number == 1 and cell.lower() in ("id", "learner")):
                continue
            check_learner(cell, f"{path}, line {number}")
            if cell in learners:
                raise ClassroomError(f"{path}, line {number}: {cell!r} is in the roster twice")
            learners.append(cell)
    if not learners:
        raise ClassroomError(f"the roster {path} names no learner", fix="one id per line")
    return learners


def numbered(count: int) -> list[str]:
    """seat01, seat02, ... for a class without a roster."""
    if count < 1:
        raise ClassroomError(f"--seats {count}: a class has at least one seat")
    return [f"seat{n:02d}" for n in range(1, count + 1)]


def check_learner(learner: str, where: str = "") -> None:
    longest = max((len(n) for n in _namespaces(_lab_permissions(""))), default=0)
    room = 63 - 1 - longest  # alice-lab14 is a namespace name: 63 characters at most
    if not LEARNER_ID.fullmatch(learner) or len(learner) > room:
        raise ClassroomError(
            f"{where + ': ' if where else ''}{learner!r} cannot start a namespace name",
            fix=f"lower-case letters, digits and '-', at most {room} characters (alice, t-chen)",
        )


def create(
    learners: list[str], hours: float, out: Path, quota: Quota = Quota(), server: str = ""
) -> list[Seat]:
    """Make (or renew) a seat per learner; write their kubeconfigs into `out`."""
    for learner in learners:
        check_learner(learner)
    api = _admin()
    core, rbac = k8s.CoreV1Api(api), k8s.RbacAuthorizationV1Api(api)
    applier = dynamic.DynamicClient(api)
    access.ensure_roles(core, rbac)
    _apply(applier, [_namespace(CLASSROOM_NAMESPACE, {})])
    _apply(applier, _objects("seat-policies.yaml", {}))
    queues = _serves(api, "kueue.x-k8s.io/v1beta2")
    out.mkdir(parents=True, exist_ok=True)
    return [_seat(api, applier, learner, hours, out, quota, server, queues) for learner in learners]


def delete(learners: list[str] | None = None) -> list[str]:
    """Remove the learners' seats (default: every seat): namespaces and all in them, credentials
    and rights; with the last seat, the classroom's namespace and policies. The learners whose
    seats were removed."""
    api = _admin()
    core, rbac = k8s.CoreV1Api(api), k8s.RbacAuthorizationV1Api(api)
    namespaces = core.list_namespace(label_selector=SEAT_LABEL).items
    found = {namespace.metadata.labels[SEAT_LABEL] for namespace in namespaces}
    chosen = found if learners is None else found & set(learners)
    for learner in sorted(chosen):
        selector = f"{SEAT_LABEL}={learner}"
        for namespace in core.list_namespace(label_selector=selector).items:
            _gone(core.delete_namespace, namespace.metadata.name)
        for item in rbac.list_cluster_role_binding(label_selector=selector).items:
            _gone(rbac.delete_cluster_role_binding, item.metadata.name)
        for item in rbac.list_cluster_role(label_selector=selector).items:
            _gone(rbac.delete_cluster_role, item.metadata.name)
        _gone(core.delete_namespaced_service_account, learner, CLASSROOM_NAMESPACE)
    if chosen == found:
        _gone(core.delete_namespace, CLASSROOM_NAMESPACE)
        admission = k8s.AdmissionregistrationV1Api(api)
        for policy in _objects("seat-policies.yaml", {}):
            name = policy["metadata"]["name"]
            if policy["kind"] == "ValidatingAdmissionPolicyBinding":
                _gone(admission.delete_validating_admission_policy_binding, name)
            else:
                _gone(admission.delete_validating_admission_policy, name)
    return sorted(chosen)


def _seat(api, applier, learner, hours, out, quota, server, queues) -> Seat:
    labels = {SEAT_LABEL: learner}
    subject = [{"kind": "ServiceAccount", "name": learner, "namespace": CLASSROOM_NAMESPACE}]
    permissions = _lab_permissions(f"{learner}-")
    namespaces = _namespaces(permissions)
    objects: list[dict[str, Any]] = [
        {
            "apiVersion": "v1",
            "kind": "ServiceAccount",
            "metadata": {"name": learner, "namespace": CLASSROOM_NAMESPACE, "labels": labels},
        },
        _cluster_binding(f"d2k-seat-{learner}-read", access.READER_ROLE, subject, labels),
    ]
    rules = [rule for p in permissions for rule in p.cluster_rules]
    if rules:
        role = f"d2k-seat-{learner}"
        objects += [
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "ClusterRole",
                "metadata": {"name": role, "labels": labels},
                "rules": rules,
            },
            _cluster_binding(role, role, subject, labels),
        ]
    for namespace in namespaces:
        values = {"namespace": namespace, **{k: str(v) for k, v in vars(quota).items()}}
        objects += [
            _namespace(namespace, labels),
            {
                "apiVersion": "rbac.authorization.k8s.io/v1",
                "kind": "RoleBinding",
                "metadata": {"name": "d2k-seat", "namespace": namespace, "labels": labels},
                "roleRef": _role_ref(access.OWNER_ROLE),
                "subjects": subject,
            },
            *_objects("seat-namespace.yaml", values),
            *(_objects("seat-queue.yaml", values) if queues else []),
        ]
    _apply(applier, objects)
    seconds = int(hours * 3600)
    token = k8s.CoreV1Api(api).create_namespaced_service_account_token(
        learner, CLASSROOM_NAMESPACE, {"spec": {"expirationSeconds": seconds}}
    )
    configuration = api.configuration
    if server:
        configuration = k8s.Configuration()
        configuration.host, configuration.ssl_ca_cert = server, api.configuration.ssl_ca_cert
        configuration.verify_ssl = api.configuration.verify_ssl
    path = out / f"{learner}.kubeconfig"
    path.touch(mode=0o600)
    path.write_text(access.kubeconfig_for(configuration, learner, token.status.token))
    return Seat(learner, namespaces, path, token.status.expiration_timestamp.astimezone(UTC))


@cache
def _solutions() -> list[dict[str, Any]]:
    """Each solution's metadata: where the labs declare their namespaces and cluster rules."""
    return [
        {"metadata": nbformat.read(path, as_version=4).metadata}
        for path in sorted(SOLUTIONS_DIR.glob("*.ipynb"))
    ]


def _lab_permissions(prefix: str) -> list[access.Permissions]:
    return [access.permissions_of(s, lambda name: prefix + name) for s in _solutions()]


def _namespaces(permissions: list[access.Permissions]) -> list[str]:
    return list(dict.fromkeys(n for p in permissions for n in p.namespaces))


def _namespace(name: str, labels: dict[str, str]) -> dict[str, Any]:
    # Pod Security baseline, as in grading: no privileged or hostPath Pod that would own the node.
    labels = {**labels, "pod-security.kubernetes.io/enforce": "baseline"}
    return {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": name, "labels": labels}}


def _role_ref(role: str) -> dict[str, str]:
    return {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role}


def _cluster_binding(name, role, subject, labels) -> dict[str, Any]:
    return {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": name, "labels": labels},
        "roleRef": _role_ref(role),
        "subjects": subject,
    }


def _objects(template: str, values: dict[str, str]) -> list[dict[str, Any]]:
    text = Template((TEMPLATES / template).read_text()).substitute(values)
    return [obj for obj in yaml.safe_load_all(text) if obj]


def _apply(applier: dynamic.DynamicClient, objects: list[dict[str, Any]]) -> None:
    """Server-side apply, so a second `create` renews a seat instead of failing on it."""
    for obj in objects:
        resource = applier.resources.get(api_version=obj["apiVersion"], kind=obj["kind"])
        metadata = obj["metadata"]
        applier.server_side_apply(
            resource,
            body=obj,
            name=metadata["name"],
            namespace=metadata.get("namespace"),
            field_manager=FIELD_MANAGER,
            force_conflicts=True,
        )


def _serves(api: k8s.ApiClient, group_version: str) -> bool:
    group, _, version = group_version.partition("/")
    try:
        k8s.CustomObjectsApi(api).get_api_resources(group, version)
    except ApiException:
        return False
    return True


def _admin() -> k8s.ApiClient:
    api = access.reachable()
    if api is None:
        raise ClassroomError(
            "no cluster answers with the workshop's credentials",
            fix="d2k cluster up (or d2k cluster use CONTEXT for an existing cluster)",
        )
    return api


def _gone(delete, *args) -> None:
    """Delete, and take "not found" as done."""
    try:
        delete(*args)
    except ApiException as error:
        if error.status != 404:
            raise
