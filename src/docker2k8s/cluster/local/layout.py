"""Where the local cluster keeps its sources, build cache and runtime state, and what it pins."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from docker2k8s.paths import REPO_ROOT, cache_dir

KUBERNETES_VERSION = "v1.34.4"
ETCD_VERSION = "v3.6.16"
COREDNS_VERSION = "v1.12.1"
METRICS_SERVER_VERSION = "v0.8.0"
COMPOSE_VERSION = "v2.40.3"  # built by `d2k setup` where `docker compose` is missing

CONTEXT_NAME = "docker2k8s"
NODE_NAME = "docker2k8s-node"
POD_CIDR = "10.244.0.0/24"
SERVICE_CIDR = "10.96.0.0/16"
API_SERVICE_IP = "10.96.0.1"
DNS_SERVICE_IP = "10.96.0.10"
CLUSTER_DOMAIN = "cluster.local"
API_PORT = 6443
ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
CNI_BRIDGE = "d2k0"
CNI_NETWORK = "docker2k8s"
# Names under which locally built node images are imported; "localhost/" keeps them from
# ever being looked up on a registry.
PAUSE_IMAGE = "localhost/docker2k8s/pause:3.10"


def repo_cluster_dir() -> Path:
    """The repository's cluster/ directory (Go modules, config templates, add-on manifests)."""
    override = os.environ.get("D2K_CLUSTER_DIR")
    if override:
        return Path(override)
    return REPO_ROOT / "cluster"


@dataclass(frozen=True)
class Layout:
    """Directories of one local cluster; all derived from a state root and a cache root."""

    state: Path
    run: Path
    cache: Path

    @classmethod
    def default(cls) -> Layout:
        # Not D2K_STATE_DIR: that one moves the workshop servers' pid files (paths.state_dir),
        # and a cluster must not seem to vanish when a reader moves those.
        state = Path(os.environ.get("D2K_CLUSTER_STATE_DIR", "/var/lib/docker2k8s"))
        run = Path(os.environ.get("D2K_CLUSTER_RUN_DIR", "/run/docker2k8s"))
        return cls(state=state, run=run, cache=cache_dir())

    @property
    def pki(self) -> Path:
        return self.state / "pki"

    @property
    def logs(self) -> Path:
        return self.state / "logs"

    @property
    def pids(self) -> Path:
        return self.run / "pids"

    @property
    def config(self) -> Path:
        return self.state / "config"

    @property
    def etcd_data(self) -> Path:
        return self.state / "etcd"

    @property
    def containerd_root(self) -> Path:
        return self.state / "containerd"

    @property
    def containerd_state(self) -> Path:
        return self.run / "containerd"

    @property
    def containerd_socket(self) -> Path:
        return self.run / "containerd" / "containerd.sock"

    @property
    def cni_conf_dir(self) -> Path:
        return self.state / "cni" / "net.d"

    @property
    def cni_data_dir(self) -> Path:
        return self.state / "cni" / "networks"

    @property
    def volumes(self) -> Path:
        """Where the default StorageClass provisions its hostPath volumes."""
        return self.state / "volumes"

    @property
    def kubelet_root(self) -> Path:
        # The conventional path: device plugins (the simulated GPU plugin) expect
        # /var/lib/kubelet/device-plugins/kubelet.sock.
        return Path("/var/lib/kubelet")

    @property
    def admin_kubeconfig(self) -> Path:
        return self.state / "kubeconfig"

    @property
    def bin(self) -> Path:
        return self.cache / "bin"

    @property
    def build_logs(self) -> Path:
        return self.cache / "logs"
