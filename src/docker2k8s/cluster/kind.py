"""The `kind` provider: Kubernetes in Docker containers, for readers with Docker and internet.

kind needs privileged containers and pulls its node image, so it cannot run on the project's
air-gapped machines; `kind_usable()` says why, and `auto` then picks the local provider. kind
ships CoreDNS and local-path storage (StorageClass `standard`); the shared actions add the rest.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import tempfile
from pathlib import Path

from rich.console import Console

from docker2k8s import shell, versions
from docker2k8s.paths import cluster_dir

from . import gobuild, kubeconfig, kubectl, record, registry
from .names import CONTEXT_NAME
from .provider import ComponentHealth

CLUSTER_NAME = "docker2k8s"
NODE_IMAGE = versions.KIND_NODE_IMAGE
CERTS_D = "/etc/containerd/certs.d"  # containerd's registry config_path in kind's nodes


def config_path() -> Path:
    return cluster_dir() / "kind.yaml"


def kind_usable() -> tuple[bool, str]:
    """Whether kind can create a cluster here, and if not, why."""
    if not shutil.which("kind"):
        return False, "the kind CLI is not installed"
    if not shutil.which("docker"):
        return False, "the docker CLI is not installed"
    if subprocess.run(["docker", "info"], capture_output=True).returncode != 0:
        return False, "Docker Engine is not running"
    if subprocess.run(["docker", "image", "inspect", NODE_IMAGE], capture_output=True).returncode:
        # kind would pull its node image; without it, assume a laptop that can pull.
        return True, "kind and Docker are available"
    probe = subprocess.run(
        ["docker", "run", "--rm", "--privileged", "--entrypoint", "true", NODE_IMAGE],
        capture_output=True,
        text=True,
    )
    if probe.returncode != 0:
        return False, (
            f"a privileged container of {NODE_IMAGE} cannot start: "
            f"{probe.stderr.strip()[-300:] or 'unknown error'}"
        )
    return True, "kind works"


class KindProvider:
    name = "kind"
    ships = frozenset({"coredns", "storage"})
    managed = True

    @staticmethod
    def _found() -> str | None:
        """kind on PATH, else the one `up` used (a notebook kernel's PATH may not have it), else
        the one built from its Go module."""
        built = gobuild.KIND.binary("kind") if gobuild.is_built(gobuild.KIND) else None
        for found in (shutil.which("kind"), record.settings().get("kind"), built):
            if found and Path(found).is_file():
                return str(found)
        return None

    def _kind(self, *args: str, check: bool = True, timeout: float = 600):
        # For a laptop without kind, built from its Go module (cached).
        binary = self._found() or gobuild.build(gobuild.KIND) / "kind"
        return shell.run(
            [binary, *args],
            what=f"kind {' '.join(args[:2])}",
            fix="install kind (d2k doctor says how), or use `--provider local`",
            check=check,
            timeout=timeout,
        )

    def exists(self) -> bool:
        if self._found() is None:
            return False
        return CLUSTER_NAME in self._kind("get", "clusters", check=False).stdout.split()

    def up(self, console: Console) -> None:
        kubectl.on_path()  # kind brings none, and the labs run `kubectl`: checked before creating
        # Recorded, so later commands find this kind even where PATH lacks it.
        binary = self._found() or str(gobuild.build(gobuild.KIND) / "kind")
        record.save(self.name, record.settings() | {"kind": binary})
        if not self.exists():
            with console.status(f"kind: creating cluster {CLUSTER_NAME} ({NODE_IMAGE})"):
                self._kind(
                    "create", "cluster", "--name", CLUSTER_NAME, "--config", str(config_path()),
                    "--image", NODE_IMAGE, "--kubeconfig", str(self.kubeconfig()),
                    "--wait", "120s",
                )  # fmt: skip
        self._start_stopped_nodes(console)
        self._install_registry_hosts()
        self._write_kubeconfig()

    def _start_stopped_nodes(self, console: Console) -> None:
        """Start node containers that exist but are stopped (after a reboot, a Docker Desktop
        restart or `docker stop`): kind never starts them again itself."""
        for node in self._kind("get", "nodes", "--name", CLUSTER_NAME).stdout.split():
            running = shell.run(["docker", "inspect", "--format", "{{.State.Running}}", node])
            if running.stdout.strip() != "true":
                console.print(f"kind: starting the stopped node container {node}")
                shell.run(["docker", "start", node], fix="`docker logs NODE` says why")

    def _install_registry_hosts(self) -> None:
        """containerd's hosts.toml files into each node: the registry add-on as a mirror (kind's
        node images read /etc/containerd/certs.d since kind v0.27)."""
        with tempfile.TemporaryDirectory() as tmp:
            registry.install_hosts(Path(tmp))
            for node in self._kind("get", "nodes", "--name", CLUSTER_NAME).stdout.split():
                shell.run(["docker", "exec", node, "mkdir", "-p", CERTS_D])
                shell.run(["docker", "cp", f"{tmp}/.", f"{node}:{CERTS_D}"])

    def _write_kubeconfig(self) -> None:
        """kind's kubeconfig for this cluster, with its names changed to CONTEXT_NAME."""
        text = self._kind("get", "kubeconfig", "--name", CLUSTER_NAME).stdout
        config = kubeconfig.renamed(kubeconfig.load_text(text), f"{CONTEXT_NAME}-kind")
        kubeconfig.write(self.kubeconfig(), config)

    def down(self, console: Console, purge: bool = False) -> None:
        # `kind delete cluster` removes the node containers and their data: always a purge.
        with console.status(f"kind: deleting cluster {CLUSTER_NAME}"):
            self._kind("delete", "cluster", "--name", CLUSTER_NAME)
        self.kubeconfig().unlink(missing_ok=True)

    def status(self) -> list[ComponentHealth]:
        if not self.exists():
            return [ComponentHealth("kind", False, f"no kind cluster named {CLUSTER_NAME}")]
        nodes = self._kind("get", "nodes", "--name", CLUSTER_NAME).stdout.split()
        rows = []
        for node in nodes:
            done = shell.run(["docker", "inspect", node], check=False)
            state = json.loads(done.stdout)[0]["State"] if done.returncode == 0 else {}
            rows.append(
                ComponentHealth(
                    f"node container {node}",
                    state.get("Running", False),
                    state.get("Status", "missing"),
                )
            )
        return rows

    def load_image(self, ref: str) -> None:
        # kind skips nodes that already hold an image with the same ID.
        self._kind("load", "docker-image", ref, "--name", CLUSTER_NAME)

    def kubeconfig(self) -> Path:
        return Path.home() / ".kube" / "docker2k8s-kind.yaml"

    def kubectl(
        self, *args: str, check: bool = True, stdin: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return kubectl.run(
            kubectl.binary(), self.kubeconfig(), *args, check=check, stdin=stdin, timeout=timeout
        )

    def cluster_ca(self) -> tuple[str, str]:
        node = f"{CLUSTER_NAME}-control-plane"  # kubeadm keeps the CA there
        read = [shell.run(["docker", "exec", node, "cat", f"/etc/kubernetes/pki/ca.{ext}"]).stdout
                for ext in ("crt", "key")]  # fmt: skip
        return read[0], read[1]

    def manifest_values(self) -> dict[str, str]:
        return {
            "kubelet_root": "/var/lib/kubelet",
            "cdi_dir": "/var/run/cdi",  # one of containerd 2's default CDI directories
            # Inside the node container; kind.yaml maps the ports to the laptop's loopback.
            "registry_bind": "0.0.0.0",
            # kind.yaml maps Traefik's NodePorts to the laptop's loopback.
            "gateway_address": "127.0.0.1",
            # kind's kubelets serve self-signed certificates no CA can verify (kind's docs).
            "kubelet_tls_flag": "--kubelet-insecure-tls",
        }
