"""The local cluster's configuration files: certificates, kubeconfigs, and the component configs
rendered from the templates in cluster/local/."""

from __future__ import annotations

from pathlib import Path
from string import Template
from typing import Any

from docker2k8s.paths import cluster_dir

from .. import gobuild, kubeconfig, registry
from ..names import CLUSTER_DOMAIN, DNS_SERVICE_IP, POD_CIDR
from . import pki
from .layout import API_PORT, CNI_BRIDGE, CNI_NETWORK, NODE_NAME, Layout

ADMIN_USER = "docker2k8s-admin"
API_SERVER = f"https://127.0.0.1:{API_PORT}"
# (kubeconfig file, certificate, user) of each component that talks to the API server.
_COMPONENT_USERS = (
    ("controller-manager", "controller-manager", "system:kube-controller-manager"),
    ("scheduler", "scheduler", "system:kube-scheduler"),
    ("kubelet", "kubelet-client", f"system:node:{NODE_NAME}"),
    ("kube-proxy", "kube-proxy", "system:kube-proxy"),
)


def admin_config(layout: Layout) -> dict[str, Any]:
    p = layout.pki
    return kubeconfig.build(API_SERVER, p / "ca.crt", p / "admin.crt", p / "admin.key", ADMIN_USER)


def write_all(layout: Layout, node_ip: str, pause_image: str) -> None:
    """Certificates, kubeconfigs and component configs for a node at `node_ip`."""
    for d in (layout.config, layout.logs, layout.cni_conf_dir, layout.volumes, layout.images):
        d.mkdir(mode=0o700, parents=True, exist_ok=True)
    pki.reissue_if_moved(layout.pki, node_ip)
    pki.ensure_pki(layout.pki, node_ip)
    p = layout.pki
    for file, cert, user in _COMPONENT_USERS:
        config = kubeconfig.build(
            API_SERVER, p / "ca.crt", p / f"{cert}.crt", p / f"{cert}.key", user
        )
        _write_if_changed(layout.config / f"{file}.kubeconfig", config)
    _write_if_changed(layout.admin_kubeconfig, admin_config(layout))
    values = {
        "containerd_root": layout.containerd_root,
        "containerd_state": layout.containerd_state,
        "containerd_socket": layout.containerd_socket,
        "pause_image": pause_image,
        "runc": gobuild.RUNC.binary("runc"),
        "cdi_dir": layout.cdi,
        "registry_hosts": layout.registry_hosts,
        "cni_conf_dir": layout.cni_conf_dir,
        "pod_cidr": POD_CIDR,
        "node_ip": node_ip,
        "node_name": NODE_NAME,
        "pki": layout.pki,
        "config": layout.config,
        "cluster_domain": CLUSTER_DOMAIN,
        "dns_service_ip": DNS_SERVICE_IP,
        # Pods inherit it for upstream names; CoreDNS forwards to it too.
        "resolv_conf": "/etc/resolv.conf",
    }
    for src, dst in (
        ("containerd.toml", layout.config / "containerd.toml"),
        ("kubelet-config.yaml", layout.config / "kubelet-config.yaml"),
        ("kube-proxy-config.yaml", layout.config / "kube-proxy-config.yaml"),
    ):
        _render(src, dst, values)
    network = {
        "cni_network": CNI_NETWORK,
        "cni_bridge": CNI_BRIDGE,
        "pod_cidr": POD_CIDR,
        "cni_data_dir": layout.cni_data_dir,
    }
    _render("cni.conflist", layout.cni_conf_dir / "10-docker2k8s.conflist", network)
    registry.install_hosts(layout.registry_hosts)


def _render(template: str, dst: Path, values: dict[str, object]) -> None:
    text = Template((cluster_dir() / "local" / template).read_text()).substitute(values)
    # kube-proxy exits when its config file is touched: only write real changes.
    if not dst.exists() or dst.read_text() != text:
        kubeconfig.write_private(dst, text)


def _write_if_changed(path: Path, config: dict[str, Any]) -> None:
    if not path.exists() or kubeconfig.load(path) != config:
        kubeconfig.write(path, config)
