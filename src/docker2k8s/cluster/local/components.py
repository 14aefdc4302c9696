"""The processes of the local cluster, in start order: their command lines and health checks.

The kubelet starts before kube-proxy: kube-proxy waits (up to 30 s) for its Node object, which
the kubelet registers.

etcd serves only TLS clients that hold a certificate from the etcd CA (the API server, and d2k
for repairs); its peer port too. Its health is read from the metrics listener on loopback, which
serves /health and /metrics only, as kubeadm's clusters do.
"""

from __future__ import annotations

import ssl
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass

from .. import gobuild
from ..names import CLUSTER_DOMAIN, SERVICE_CIDR
from . import containerd
from .layout import (
    API_PORT,
    ETCD_CLIENT_PORT,
    ETCD_METRICS_PORT,
    ETCD_PEER_PORT,
    NODE_NAME,
    Layout,
)

ETCD_URL = f"https://127.0.0.1:{ETCD_CLIENT_PORT}"


PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
# Every component is a Go program: collecting garbage at half the default heap growth keeps the
# idle cluster near 1 GiB on a workshop laptop, for a little CPU (measured in cluster/NOTES.md).
GOGC = "50"


@dataclass(frozen=True)
class Component:
    name: str
    argv: list[str]
    health: Callable[[], tuple[bool, str]]
    path: str = PATH

    @property
    def env(self) -> dict[str, str]:
        return {"PATH": self.path, "GOGC": GOGC}


def http_ok(url: str, timeout: float = 2.0) -> tuple[bool, str]:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # health endpoints on 127.0.0.1 serve self-signed certs
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as resp:
            return resp.status == 200, f"{url} -> {resp.status}"
    except urllib.error.HTTPError as err:
        return False, f"{url} -> {err.code}"
    except OSError as err:
        return False, f"{url} -> {getattr(err, 'reason', err)}"


def components(layout: Layout, node_ip: str) -> list[Component]:
    p, c = layout.pki, layout.config
    kube = gobuild.KUBERNETES.binary
    peer_url = f"https://127.0.0.1:{ETCD_PEER_PORT}"
    kcm = c / "controller-manager.kubeconfig"
    sched = c / "scheduler.kubeconfig"
    containerd_bin = gobuild.CONTAINERD.out_dir()
    return [
        Component(
            "etcd",
            [
                str(gobuild.ETCD.binary("etcd")),
                "--name=docker2k8s",
                f"--data-dir={layout.etcd_data}",
                f"--listen-client-urls={ETCD_URL}",
                f"--advertise-client-urls={ETCD_URL}",
                f"--listen-peer-urls={peer_url}",
                f"--initial-advertise-peer-urls={peer_url}",
                f"--initial-cluster=docker2k8s={peer_url}",
                f"--listen-metrics-urls=http://127.0.0.1:{ETCD_METRICS_PORT}",
                f"--cert-file={p / 'etcd-server.crt'}",
                f"--key-file={p / 'etcd-server.key'}",
                "--client-cert-auth=true",
                f"--trusted-ca-file={p / 'etcd-ca.crt'}",
                f"--peer-cert-file={p / 'etcd-peer.crt'}",
                f"--peer-key-file={p / 'etcd-peer.key'}",
                "--peer-client-cert-auth=true",
                f"--peer-trusted-ca-file={p / 'etcd-ca.crt'}",
                "--snapshot-count=10000",
                "--quota-backend-bytes=2147483648",
            ],
            lambda: http_ok(f"http://127.0.0.1:{ETCD_METRICS_PORT}/health"),
        ),
        Component(
            "containerd",
            [str(containerd_bin / "containerd"), f"--config={c / 'containerd.toml'}"],
            lambda: containerd.health(layout.containerd_socket),
            # containerd finds its runc shim on PATH: the one built with it, not the host's.
            path=f"{containerd_bin}:{PATH}",
        ),
        Component(
            "kube-apiserver",
            [
                str(kube("kube-apiserver")),
                "--bind-address=127.0.0.1",
                f"--advertise-address={node_ip}",
                f"--secure-port={API_PORT}",
                f"--etcd-servers={ETCD_URL}",
                f"--etcd-cafile={p / 'etcd-ca.crt'}",
                f"--etcd-certfile={p / 'apiserver-etcd-client.crt'}",
                f"--etcd-keyfile={p / 'apiserver-etcd-client.key'}",
                "--authorization-mode=Node,RBAC",
                "--enable-admission-plugins=NodeRestriction",
                "--allow-privileged=true",
                f"--client-ca-file={p / 'ca.crt'}",
                f"--tls-cert-file={p / 'apiserver.crt'}",
                f"--tls-private-key-file={p / 'apiserver.key'}",
                f"--kubelet-client-certificate={p / 'apiserver-kubelet-client.crt'}",
                f"--kubelet-client-key={p / 'apiserver-kubelet-client.key'}",
                "--kubelet-preferred-address-types=InternalIP,Hostname",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                f"--service-account-issuer=https://kubernetes.default.svc.{CLUSTER_DOMAIN}",
                f"--service-account-key-file={p / 'sa.pub'}",
                f"--service-account-signing-key-file={p / 'sa.key'}",
                f"--requestheader-client-ca-file={p / 'front-proxy-ca.crt'}",
                "--requestheader-allowed-names=front-proxy-client",
                "--requestheader-username-headers=X-Remote-User",
                "--requestheader-group-headers=X-Remote-Group",
                "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                f"--proxy-client-cert-file={p / 'front-proxy-client.crt'}",
                f"--proxy-client-key-file={p / 'front-proxy-client.key'}",
                "--enable-aggregator-routing=true",
                "--profiling=false",
            ],
            lambda: http_ok(f"https://127.0.0.1:{API_PORT}/readyz"),
        ),
        Component(
            "kube-controller-manager",
            [
                str(kube("kube-controller-manager")),
                f"--kubeconfig={kcm}",
                f"--authentication-kubeconfig={kcm}",
                f"--authorization-kubeconfig={kcm}",
                "--bind-address=127.0.0.1",
                f"--cluster-signing-cert-file={p / 'ca.crt'}",
                f"--cluster-signing-key-file={p / 'ca.key'}",
                f"--root-ca-file={p / 'ca.crt'}",
                f"--service-account-private-key-file={p / 'sa.key'}",
                f"--requestheader-client-ca-file={p / 'front-proxy-ca.crt'}",
                "--use-service-account-credentials=true",
                f"--service-cluster-ip-range={SERVICE_CIDR}",
                "--controllers=*",  # the default set; bootstrap tokens are for kubeadm joins
                # HPAs act every 5 s, not 15 s: a lab sees a scale-up within its cell's minute.
                "--horizontal-pod-autoscaler-sync-period=5s",
                "--leader-elect=false",
                "--profiling=false",
            ],
            lambda: http_ok("https://127.0.0.1:10257/healthz"),
        ),
        Component(
            "kube-scheduler",
            [
                str(kube("kube-scheduler")),
                f"--kubeconfig={sched}",
                f"--authentication-kubeconfig={sched}",
                f"--authorization-kubeconfig={sched}",
                "--bind-address=127.0.0.1",
                "--leader-elect=false",
                "--profiling=false",
            ],
            lambda: http_ok("https://127.0.0.1:10259/healthz"),
        ),
        Component(
            "kubelet",
            [
                str(kube("kubelet")),
                f"--config={c / 'kubelet-config.yaml'}",
                f"--kubeconfig={c / 'kubelet.kubeconfig'}",
                f"--hostname-override={NODE_NAME}",
                f"--node-ip={node_ip}",
                f"--root-dir={layout.kubelet_root}",
            ],
            lambda: http_ok("http://127.0.0.1:10248/healthz"),
        ),
        Component(
            "kube-proxy",
            [str(kube("kube-proxy")), f"--config={c / 'kube-proxy-config.yaml'}"],
            lambda: http_ok("http://127.0.0.1:10256/healthz"),
        ),
    ]
