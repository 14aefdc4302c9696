"""What a graded kernel may do on the cluster: the lab's own namespaces, and no more.

The grader holds the admin credentials; the learner's kernel gets a kubeconfig of its own, the
token of a ServiceAccount made for this one grading and deleted after it:
- in each namespace the lab declares, every namespaced resource the API serves (a RoleBinding to
  `d2k-grading-owner`, made from discovery: "*" would include the namespace itself, and
  `/status` would let a check be fooled), under the Pod Security `baseline` profile (no
  privileged or hostPath Pod that would own the node);
- cluster-wide, reading the cluster-scoped objects labs look at (nodes, storage classes, ...);
- cluster-wide writes only as the lab's own rules say (lab 09 creates its PriorityClasses).
The namespaces themselves are the grader's: it makes them fresh before the run and deletes them
after, so a lab's `kubectl delete/create namespace $NS` is refused and changes nothing.

A lab declares what it needs in its solution's metadata (the grader trusts only solutions/):

    "d2k": {"permissions": {"docker": true, "namespaces": ["lab09"], "cluster_read": true,
            "cluster_rules": [{"apiGroups": ["scheduling.k8s.io"], "resources": [...], ...}]}}

`{namespace}` in a rule's resourceNames is the lab's first namespace (with the seat's prefix).
"""

from __future__ import annotations

import base64
import contextlib
import json
import re
import secrets
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import yaml
from kubernetes import client as k8s
from kubernetes.client.exceptions import ApiException

from docker2k8s.cluster.names import CONTEXT_NAME
from docker2k8s.errors import D2KError
from docker2k8s.grading import kube

GRADING_NAMESPACE = "d2k-grading"  # where the per-grading ServiceAccounts live
OWNER_ROLE = "d2k-grading-owner"
READER_ROLE = "d2k-grading-reader"
TOKEN_SECONDS = 6 * 3600  # longer than any lab; the token dies with its ServiceAccount anyway
NAMESPACE_GONE_SECONDS = 300

# Cluster-scoped objects the labs read (`kubectl get nodes`, storage classes, GPU devices, queues).
CLUSTER_READ = [
    ("", ["nodes", "namespaces", "persistentvolumes"]),
    ("storage.k8s.io", ["storageclasses", "csidrivers"]),
    ("scheduling.k8s.io", ["priorityclasses"]),
    ("node.k8s.io", ["runtimeclasses"]),
    ("networking.k8s.io", ["ingressclasses"]),
    ("gateway.networking.k8s.io", ["gatewayclasses"]),
    ("resource.k8s.io", ["deviceclasses", "resourceslices"]),
    ("kueue.x-k8s.io", ["clusterqueues", "resourceflavors", "cohorts"]),
    ("metrics.k8s.io", ["nodes"]),
    ("apiextensions.k8s.io", ["customresourcedefinitions"]),
]


class PermissionsError(D2KError):
    exit_code = 2


@dataclass
class Permissions:
    docker: bool = False
    namespaces: list[str] = field(default_factory=list)
    cluster_read: bool = False
    cluster_rules: list[dict[str, Any]] = field(default_factory=list)

    @property
    def kubernetes(self) -> bool:
        return bool(self.namespaces or self.cluster_read or self.cluster_rules)

    def describe(self) -> str:
        parts = [f"all in namespace(s) {', '.join(self.namespaces)}"] if self.namespaces else []
        parts += ["reading cluster-scoped objects"] if self.cluster_read else []
        parts += [f"{len(self.cluster_rules)} cluster-wide rule(s)"] if self.cluster_rules else []
        return "cluster token: " + ", ".join(parts)


def permissions_of(solution: dict[str, Any], namespace=lambda name: name) -> Permissions:
    """The permissions a solution declares; `namespace` maps a lab's name to the seat's."""
    declared = solution.get("metadata", {}).get("d2k", {}).get("permissions", {})
    unknown = set(declared) - {"docker", "namespaces", "cluster_read", "cluster_rules"}
    if unknown:
        raise PermissionsError(
            f"the solution's d2k.permissions has unknown keys: {', '.join(sorted(unknown))}",
            fix="use docker, namespaces, cluster_read and cluster_rules",
        )
    namespaces = [namespace(n) for n in declared.get("namespaces", [])]
    first = namespaces[0] if namespaces else ""
    rules = []
    for rule in declared.get("cluster_rules", []):
        rule = dict(rule)
        if "resourceNames" in rule:
            rule["resourceNames"] = [n.format(namespace=first) for n in rule["resourceNames"]]
        rules.append(rule)
    return Permissions(
        bool(declared.get("docker")), namespaces, bool(declared.get("cluster_read")), rules
    )


@contextlib.contextmanager
def granted(permissions: Permissions) -> Iterator[str]:
    """A kubeconfig (text) with exactly `permissions`, valid within the block; fresh namespaces.
    Empty text when the lab needs no cluster."""
    api = reachable() if permissions.kubernetes else None
    if api is None:  # no cluster to grant on: the lab's cluster checks fail with their own words
        yield ""
        return
    core, rbac = k8s.CoreV1Api(api), k8s.RbacAuthorizationV1Api(api)
    name = f"learner-{secrets.token_hex(4)}"
    ensure_roles(core, rbac)
    try:
        core.create_namespaced_service_account(GRADING_NAMESPACE, {"metadata": {"name": name}})
        subject = [{"kind": "ServiceAccount", "name": name, "namespace": GRADING_NAMESPACE}]
        for namespace in permissions.namespaces:
            _fresh_namespace(core, namespace)
            rbac.create_namespaced_role_binding(namespace, _binding(name, OWNER_ROLE, subject))
        if permissions.cluster_read:
            rbac.create_cluster_role_binding(_binding(name + "-read", READER_ROLE, subject))
        if permissions.cluster_rules:
            rbac.create_cluster_role(
                {"metadata": {"name": f"d2k-grading-{name}"}, "rules": permissions.cluster_rules}
            )
            rbac.create_cluster_role_binding(
                _binding(name + "-rules", f"d2k-grading-{name}", subject)
            )
        token = core.create_namespaced_service_account_token(
            name, GRADING_NAMESPACE, {"spec": {"expirationSeconds": TOKEN_SECONDS}}
        ).status.token
        yield kubeconfig_for(api.configuration, name, token)
    finally:
        _revoke(core, rbac, name, permissions.namespaces)


def reachable() -> k8s.ApiClient | None:
    """The admin's API client, if the cluster answers."""
    try:
        api = kube.client().client
        k8s.VersionApi(api).get_code(_request_timeout=10)
    except Exception:
        return None
    return api


def _binding(name: str, role: str, subjects: list[dict[str, str]]) -> dict[str, Any]:
    return {
        "metadata": {"name": f"d2k-grading-{name}"},
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "ClusterRole", "name": role},
        "subjects": subjects,
    }


def ensure_roles(core: k8s.CoreV1Api, rbac: k8s.RbacAuthorizationV1Api) -> None:
    """The grading namespace and the two ClusterRoles every grading (and every classroom seat)
    binds, kept up to date."""
    roles = {
        OWNER_ROLE: _namespaced_rules(core.api_client),
        READER_ROLE: [
            {"apiGroups": [group], "resources": resources, "verbs": ["get", "list", "watch"]}
            for group, resources in CLUSTER_READ
        ],
    }
    with contextlib.suppress(_Exists):
        _create(core.create_namespace, {"metadata": {"name": GRADING_NAMESPACE}})
    for role, rules in roles.items():
        body = {"metadata": {"name": role}, "rules": rules}
        try:
            _create(rbac.create_cluster_role, body)
        except _Exists:
            rbac.replace_cluster_role(role, body)


# Namespaced resources a learner's kernel must not touch: status is the controllers' word (a
# patched status would fake "Ready"), and binding a Pod to a node bypasses the scheduler.
WITHHELD = re.compile(r"/status$|^bindings$|^pods/binding$")


def _namespaced_rules(api: k8s.ApiClient) -> list[dict[str, Any]]:
    """All verbs on every namespaced resource and subresource the API serves, from discovery
    (so custom resources, the queue's and the Gateway's, are included), less WITHHELD."""

    def discover(path: str) -> dict[str, Any]:
        url = api.configuration.host + path
        response = api.call_api("GET", url, header_params={"Accept": "application/json"})
        response.read()
        return json.loads(response.data)

    versions = [("", "/api/v1")] + [
        (group["name"], f"/apis/{version['groupVersion']}")
        for group in discover("/apis")["groups"]
        for version in group["versions"]
    ]
    resources: dict[str, set[str]] = {}
    for group, path in versions:
        with contextlib.suppress(ApiException, ValueError):  # an aggregated API that is down
            for found in discover(path)["resources"]:
                if found["namespaced"] and not WITHHELD.search(found["name"]):
                    resources.setdefault(group, set()).add(found["name"])
    return [
        {"apiGroups": [group], "resources": sorted(names), "verbs": ["*"]}
        for group, names in sorted(resources.items())
    ]


class _Exists(Exception):
    pass


def _create(create, body) -> None:
    try:
        create(body)
    except ApiException as error:
        if error.status == 409:
            raise _Exists from None
        raise


def _fresh_namespace(core: k8s.CoreV1Api, namespace: str) -> None:
    """Delete the namespace if it is there (a run before this one), then make it again."""
    _delete_namespace(core, namespace, wait=True)
    labels = {"pod-security.kubernetes.io/enforce": "baseline", "docker2k8s/graded": "true"}
    core.create_namespace({"metadata": {"name": namespace, "labels": labels}})


def _delete_namespace(core: k8s.CoreV1Api, namespace: str, wait: bool) -> None:
    with contextlib.suppress(ApiException):
        core.delete_namespace(namespace)
    deadline = time.monotonic() + NAMESPACE_GONE_SECONDS
    while wait:
        try:
            core.read_namespace(namespace)
        except ApiException as error:
            if error.status == 404:
                return
            raise
        if time.monotonic() > deadline:
            raise PermissionsError(
                f"namespace {namespace} is still terminating after {NAMESPACE_GONE_SECONDS} s",
                fix=f"kubectl get all,pvc -n {namespace}: something in it does not go away",
            )
        time.sleep(1)


def _revoke(core, rbac, name: str, namespaces: list[str]) -> None:
    """Take back everything this grading was given; its namespaces go too, as the lab's
    last cell would have done."""
    for delete, *args in [
        (core.delete_namespaced_service_account, name, GRADING_NAMESPACE),
        (rbac.delete_cluster_role_binding, f"d2k-grading-{name}-read"),
        (rbac.delete_cluster_role_binding, f"d2k-grading-{name}-rules"),
        (rbac.delete_cluster_role, f"d2k-grading-{name}"),
    ]:
        with contextlib.suppress(ApiException):
            delete(*args)
    for namespace in namespaces:
        _delete_namespace(core, namespace, wait=True)


def kubeconfig_for(configuration: k8s.Configuration, user: str, token: str) -> str:
    """A one-context kubeconfig (context CONTEXT_NAME, as the workshop's) for the token."""
    cluster: dict[str, Any] = {"server": configuration.host}
    if configuration.ssl_ca_cert:
        with open(configuration.ssl_ca_cert, "rb") as ca:
            cluster["certificate-authority-data"] = base64.b64encode(ca.read()).decode()
    elif not configuration.verify_ssl:
        cluster["insecure-skip-tls-verify"] = True
    config = {
        "apiVersion": "v1",
        "kind": "Config",
        "clusters": [{"name": CONTEXT_NAME, "cluster": cluster}],
        "users": [{"name": user, "user": {"token": token}}],
        "contexts": [{"name": CONTEXT_NAME, "context": {"cluster": CONTEXT_NAME, "user": user}}],
        "current-context": CONTEXT_NAME,
    }
    return yaml.safe_dump(config, sort_keys=False)
