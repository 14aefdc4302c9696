"""Gateway API and Ingress through Traefik: routes by host from outside the cluster (the node's
address and the gateway's NodePort), a default IngressClass, and a 90/10 weighted HTTPRoute."""

from __future__ import annotations

import http.client
import json
from collections import Counter

import pytest
import yaml
from polling import wait_for

from docker2k8s.cluster import Provider, gateway

pytestmark = pytest.mark.cluster


def _echo(name: str, image: str) -> list[dict]:
    """A Deployment answering "hello from <pod name>" and its Service on port 80."""
    labels = {"app": name}
    return [
        {
            "apiVersion": "apps/v1",
            "kind": "Deployment",
            "metadata": {"name": name},
            "spec": {
                "selector": {"matchLabels": labels},
                "template": {
                    "metadata": {"labels": labels},
                    "spec": {
                        "terminationGracePeriodSeconds": 0,
                        "containers": [
                            {"name": "echo", "image": image, "imagePullPolicy": "Never"}
                        ],
                    },
                },
            },
        },
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": name},
            "spec": {"selector": labels, "ports": [{"port": 80, "targetPort": 8080}]},
        },
    ]


def _route(name: str, host: str, weights: dict[str, int]) -> dict:
    return {
        "apiVersion": "gateway.networking.k8s.io/v1",
        "kind": "HTTPRoute",
        "metadata": {"name": name},
        "spec": {
            "parentRefs": [{"name": gateway.GATEWAY, "namespace": gateway.NAMESPACE}],
            "hostnames": [host],
            "rules": [
                {
                    "backendRefs": [
                        {"name": service, "port": 80, "weight": weight}
                        for service, weight in weights.items()
                    ]
                }
            ],
        },
    }


class Outside:
    """Requests from this host to the gateway's NodePort, as a browser outside would send."""

    def __init__(self, cluster: Provider) -> None:
        self.address = cluster.manifest_values()["gateway_address"]

    def get(self, host: str) -> tuple[int, str]:
        connection = http.client.HTTPConnection(self.address, gateway.HTTP_PORT, timeout=5)
        try:
            connection.request("GET", "/", headers={"Host": host})
            answer = connection.getresponse()
            return answer.status, answer.read().decode()
        finally:
            connection.close()

    def answers(self, host: str, prefix: str) -> str:
        """The first answer from a Pod whose name starts with `prefix` (routes take a moment)."""

        def answered() -> str:
            status, body = self.get(host)
            return body if status == 200 and body.startswith(f"hello from {prefix}") else ""

        return wait_for(f"{host} answered by {prefix}", answered, 60)


@pytest.fixture
def backends(kubectl, namespace: str, echo_image: str) -> str:
    objects = _echo("stable", echo_image) + _echo("canary", echo_image)
    kubectl("-n", namespace, "apply", "-f", "-", stdin=yaml.safe_dump_all(objects))
    for name in ("stable", "canary"):
        kubectl("-n", namespace, "rollout", "status", f"deployment/{name}", "--timeout=90s")
    return namespace


def test_the_gateway_and_its_class_are_accepted(kubectl) -> None:
    gateway_class = json.loads(kubectl("get", "gatewayclass", gateway.CLASS, "-o", "json").stdout)
    accepted = {c["type"]: c["status"] for c in gateway_class["status"]["conditions"]}
    assert accepted.get("Accepted") == "True", gateway_class["status"]

    def programmed() -> dict:
        shared = json.loads(
            kubectl("-n", gateway.NAMESPACE, "get", "gateway", gateway.GATEWAY, "-o", "json").stdout
        )
        conditions = {c["type"]: c["status"] for c in shared["status"].get("conditions", [])}
        return shared["status"] if conditions.get("Programmed") == "True" else {}

    status = wait_for("the shared Gateway programmed", programmed, 60)
    assert status["addresses"][0]["value"], status
    classes = json.loads(kubectl("get", "ingressclass", "-o", "json").stdout)["items"]
    default = [
        c["metadata"]["name"]
        for c in classes
        if c["metadata"].get("annotations", {}).get("ingressclass.kubernetes.io/is-default-class")
        == "true"
    ]
    assert default == [gateway.CLASS]


def test_an_httproute_routes_its_host_from_outside(cluster, kubectl, backends: str) -> None:
    outside = Outside(cluster)
    host = f"chat.{backends}.test"
    route = _route("chat", host, {"stable": 1})
    kubectl("-n", backends, "apply", "-f", "-", stdin=yaml.safe_dump(route))
    assert outside.answers(host, "stable-")
    status, _ = outside.get(f"other.{backends}.test")
    assert status == 404  # no route for that host
    attached = json.loads(kubectl("-n", backends, "get", "httproute", "chat", "-o", "json").stdout)
    (parent,) = attached["status"]["parents"]
    assert {c["type"]: c["status"] for c in parent["conditions"]}["Accepted"] == "True"


def test_an_ingress_of_the_default_class_routes_its_host(cluster, kubectl, backends: str) -> None:
    outside = Outside(cluster)
    host = f"web.{backends}.test"
    ingress = {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "Ingress",
        "metadata": {"name": "web"},  # no ingressClassName: the default class takes it
        "spec": {
            "rules": [
                {
                    "host": host,
                    "http": {
                        "paths": [
                            {
                                "path": "/",
                                "pathType": "Prefix",
                                "backend": {"service": {"name": "canary", "port": {"number": 80}}},
                            }
                        ]
                    },
                }
            ]
        },
    }
    kubectl("-n", backends, "apply", "-f", "-", stdin=yaml.safe_dump(ingress))
    assert outside.answers(host, "canary-")
    stored = json.loads(kubectl("-n", backends, "get", "ingress", "web", "-o", "json").stdout)
    assert stored["spec"]["ingressClassName"] == gateway.CLASS


def test_a_weighted_route_splits_requests_90_10(cluster, kubectl, backends: str) -> None:
    outside = Outside(cluster)
    host = f"canary.{backends}.test"
    route = _route("split", host, {"stable": 90, "canary": 10})
    kubectl("-n", backends, "apply", "-f", "-", stdin=yaml.safe_dump(route))
    outside.answers(host, "")  # the route is live
    counts: Counter[str] = Counter()
    for _ in range(1000):
        status, body = outside.get(host)
        assert status == 200, body
        counts["canary" if body.startswith("hello from canary-") else "stable"] += 1
    assert counts["stable"] + counts["canary"] == 1000
    assert 50 <= counts["canary"] <= 150, counts  # 10 % within ±5 points
