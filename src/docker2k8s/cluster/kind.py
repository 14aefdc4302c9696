"""The `kind` backend: Kubernetes in Docker containers, for readers with internet access.

kind needs privileged containers and pulls its node image, so it cannot run on the project's
air-gapped machines; `kind_usable()` says why, and `auto` then picks the local backend.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml
from rich.console import Console

from docker2k8s.images import image_id

from .backend import ComponentHealth
from .errors import ClusterError
from .gobuild import METRICS_SERVER, build
from .layout import CONTEXT_NAME, KUBERNETES_VERSION, Layout, repo_cluster_dir
from .node_images import NODE_IMAGES, docker_build

CLUSTER_NAME = "docker2k8s"
# kind names its kubectl context kind-<name>; d2k renames it to CONTEXT_NAME.
KIND_CONTEXT = f"kind-{CLUSTER_NAME}"
NODE_IMAGE = f"kindest/node:{KUBERNETES_VERSION}"


def config_path() -> Path:
    return repo_cluster_dir() / "kind.yaml"


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


class KindBackend:
    name = "kind"

    def _kind(self, *args: str) -> subprocess.CompletedProcess[str]:
        if not shutil.which("kind"):
            raise ClusterError("The kind CLI is missing; install kind or use `--backend local`.")
        return subprocess.run(["kind", *args], capture_output=True, text=True)

    def exists(self) -> bool:
        if not shutil.which("kind"):
            return False
        return CLUSTER_NAME in self._kind("get", "clusters").stdout.split()

    def up(self, console: Console | None = None) -> None:
        console = console or Console(stderr=True)
        if not self.exists():
            with console.status(f"kind: creating cluster {CLUSTER_NAME} ({NODE_IMAGE})"):
                done = self._kind(
                    "create", "cluster", "--name", CLUSTER_NAME,
                    "--config", str(config_path()), "--image", NODE_IMAGE, "--wait", "120s",
                )  # fmt: skip
            if done.returncode != 0:
                raise ClusterError(f"kind create cluster failed: {done.stderr.strip()[-2000:]}")
        self._rename_context()
        self._add_gpu_plugin(console)
        self._add_metrics_server(console)
        console.print(f"[green]kind cluster ready[/]: kubectl context [bold]{CONTEXT_NAME}[/]")

    def _add_gpu_plugin(self, console: Console) -> None:
        """The simulated GPU device plugin, from the image built here (the same as on local)."""
        from docker2k8s.gpu.image import MANIFEST, ImageBuildError, build_plugin_image

        with console.status("kind: the simulated GPU device plugin"):
            try:
                self.load_image(build_plugin_image())
            except ImageBuildError as error:
                raise ClusterError(f"The GPU device plugin image: {error}") from None
            _apply(MANIFEST.read_text(), str(MANIFEST))

    def _add_metrics_server(self, console: Console) -> None:
        """kind comes without metrics-server: run the local backend's, built from source here."""
        image = next(i for i in NODE_IMAGES if i.name == "metrics-server")
        if image_id(image.ref) is None:
            binary = build(METRICS_SERVER, Layout.default(), console) / image.binary
            docker_build(image, binary)
        with console.status("kind: metrics-server"):
            self.load_image(image.ref)
            _apply(kind_metrics_server_manifest(), "the metrics-server add-on")

    def _rename_context(self) -> None:
        contexts = subprocess.run(
            ["kubectl", "config", "get-contexts", "-o", "name"], capture_output=True, text=True
        ).stdout.split()
        if KIND_CONTEXT in contexts:
            if CONTEXT_NAME in contexts:
                subprocess.run(["kubectl", "config", "delete-context", CONTEXT_NAME], check=False)
            subprocess.run(
                ["kubectl", "config", "rename-context", KIND_CONTEXT, CONTEXT_NAME], check=True
            )
        subprocess.run(["kubectl", "config", "use-context", CONTEXT_NAME], check=True)

    def down(self, console: Console | None = None, purge: bool = False) -> None:
        # `kind delete cluster` removes the node containers and their data: always a purge.
        done = self._kind("delete", "cluster", "--name", CLUSTER_NAME)
        if done.returncode != 0:
            raise ClusterError(f"kind delete cluster failed: {done.stderr.strip()}")

    def status(self) -> list[ComponentHealth]:
        if not self.exists():
            return [ComponentHealth("kind", False, f"no kind cluster named {CLUSTER_NAME}")]
        nodes = self._kind("get", "nodes", "--name", CLUSTER_NAME).stdout.split()
        return [ComponentHealth(f"node {n}", True, "container running") for n in nodes]

    def load_image(self, name: str) -> None:
        done = self._kind("load", "docker-image", name, "--name", CLUSTER_NAME)
        if done.returncode != 0:
            raise ClusterError(f"kind load docker-image {name} failed: {done.stderr.strip()}")

    def kubeconfig(self) -> Path:
        return Path.home() / ".kube" / "config"


def kind_metrics_server_manifest() -> str:
    """The metrics-server add-on for kind: kind's kubelets serve self-signed certificates, which
    no CA can verify, so metrics-server skips that check there (as kind's own docs advise)."""
    path = repo_cluster_dir() / "addons" / "metrics-server" / "metrics-server.yaml"
    docs = [d for d in yaml.safe_load_all(path.read_text()) if d]
    for doc in docs:
        if doc["kind"] == "Deployment":
            container = doc["spec"]["template"]["spec"]["containers"][0]
            container["args"] = [
                "--kubelet-insecure-tls" if a.startswith("--kubelet-certificate-authority") else a
                for a in container["args"]
            ]
    return yaml.safe_dump_all(docs, sort_keys=False)


def _apply(manifest: str, what: str) -> None:
    done = subprocess.run(
        ["kubectl", "--context", CONTEXT_NAME, "apply", "-f", "-"],
        input=manifest,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise ClusterError(f"Applying {what} failed: {done.stderr.strip()}")
