"""Where the local cluster keeps its state, and the marker that says a directory is its own.

Two roots: the state root (certificates, configs, logs, etcd, containerd, the kubelet's files,
volumes; default /var/lib/docker2k8s, D2K_CLUSTER_STATE_DIR moves it) and the run root (pid
files, containerd's sockets; default /run/docker2k8s, D2K_CLUSTER_RUN_DIR). Both are 0700 and
carry a marker file, and `down --purge` deletes a directory only when it carries that marker.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from docker2k8s.errors import D2KError

NODE_NAME = "docker2k8s-node"
API_PORT = 6443
ETCD_CLIENT_PORT = 2379
ETCD_PEER_PORT = 2380
ETCD_METRICS_PORT = 2381
CNI_BRIDGE = "d2k0"
CNI_NETWORK = "docker2k8s"
MARKER = ".docker2k8s-cluster"

# Never a cluster root: deleting one of these (or their parents) would wreck the host.
_SYSTEM_DIRS = {
    Path(p)
    for p in (
        "/", "/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib64", "/media", "/mnt",
        "/opt", "/proc", "/root", "/run", "/sbin", "/srv", "/sys", "/tmp", "/usr", "/usr/local",
        "/var", "/var/lib", "/var/run", "/var/tmp", "/var/log", "/var/cache", "/var/lib/docker",
        "/var/lib/containerd", "/var/lib/kubelet",
    )
}  # fmt: skip


def cluster_root(variable: str, default: str) -> Path:
    """The directory named by environment `variable`, checked: absolute, not a system
    directory or a home; else a D2KError that names the variable and the fix."""
    value = os.environ.get(variable)
    if value is None:
        return Path(default)
    fix = f"set {variable} to an absolute path of its own (like {default}), or unset it"
    path = Path(value)
    if not value.strip() or not path.is_absolute():
        raise D2KError(f"{variable}={value!r} is not an absolute path.", fix)
    resolved = path.resolve()
    if resolved in _SYSTEM_DIRS or resolved == Path.home().resolve():
        raise D2KError(f"{variable}={value} is a system directory; the cluster would own it.", fix)
    return resolved


@dataclass(frozen=True)
class Layout:
    """Directories of one local cluster; all derived from its two roots."""

    state: Path
    run: Path

    @classmethod
    def default(cls) -> Layout:
        # Not D2K_STATE_DIR: that one moves the workshop servers' pid files (paths.state_dir),
        # and a cluster must not seem to vanish when a reader moves those.
        return cls(
            state=cluster_root("D2K_CLUSTER_STATE_DIR", "/var/lib/docker2k8s"),
            run=cluster_root("D2K_CLUSTER_RUN_DIR", "/run/docker2k8s"),
        )

    @property
    def roots(self) -> tuple[Path, Path]:
        return (self.state, self.run)

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
        """Where the default StorageClass (local-path-provisioner) makes its volumes."""
        return self.state / "volumes"

    @property
    def kubelet_root(self) -> Path:
        # Under the state root, not /var/lib/kubelet: purging the cluster then never touches a
        # directory another kubelet could own. (The kubelet still serves the device-plugin API
        # at its fixed path, /var/lib/kubelet/device-plugins.)
        return self.state / "kubelet"

    @property
    def cdi(self) -> Path:
        """CDI specs containerd applies to containers (the DRA driver writes them)."""
        return self.state / "cdi"

    @property
    def registry_hosts(self) -> Path:
        """containerd's registry configuration: the cluster's registry as a mirror."""
        return self.config / "registry-hosts"

    @property
    def images(self) -> Path:
        """Which Docker image ID was imported under each name (so a re-import is skipped)."""
        return self.state / "images"

    @property
    def sysctls(self) -> Path:
        """The host's kernel settings from before `up` changed them, restored by `down`."""
        return self.state / "sysctls.json"

    @property
    def admin_kubeconfig(self) -> Path:
        return self.state / "kubeconfig"
