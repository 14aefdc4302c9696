"""Container images of the local cluster: built locally with Docker, imported into containerd.

Nothing is pulled: each image is one static Go binary on an empty (scratch) base, built
from cluster/images/<name>/Dockerfile, then streamed with `docker save | ctr import` into the
cluster containerd's k8s.io namespace, the namespace the kubelet's CRI uses.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from docker2k8s.images import ImageBuildError, check_docker, image_id

from .errors import ClusterError
from .layout import COREDNS_VERSION, METRICS_SERVER_VERSION, PAUSE_IMAGE, repo_cluster_dir

NAMESPACE = "k8s.io"


@dataclass(frozen=True)
class NodeImage:
    name: str  # directory under cluster/images/
    ref: str
    binary: str


NODE_IMAGES = (
    NodeImage("pause", PAUSE_IMAGE, "pause"),
    NodeImage("coredns", f"localhost/docker2k8s/coredns:{COREDNS_VERSION}", "coredns"),
    NodeImage(
        "metrics-server",
        f"localhost/docker2k8s/metrics-server:{METRICS_SERVER_VERSION}",
        "metrics-server",
    ),
    NodeImage(
        "hostpath-provisioner",
        "localhost/docker2k8s/hostpath-provisioner:0.1.0",
        "hostpath-provisioner",
    ),
)


def require_docker() -> None:
    """The images' check that Docker works, as a ClusterError."""
    try:
        check_docker()
    except ImageBuildError as error:
        raise ClusterError(f"Node images are built locally with Docker, but {error}") from None


def containerd_images(socket: Path) -> set[str]:
    done = subprocess.run(
        ["ctr", "--address", str(socket), "-n", NAMESPACE, "images", "ls", "-q"],
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise ClusterError(f"Cannot list the cluster's images: {done.stderr.strip()}")
    return set(done.stdout.split())


def docker_build(image: NodeImage, binary: Path) -> None:
    """`docker build` a scratch image from cluster/images/<name>/Dockerfile and the binary."""
    with tempfile.TemporaryDirectory() as tmp:
        ctx = Path(tmp)
        shutil.copy2(repo_cluster_dir() / "images" / image.name / "Dockerfile", ctx / "Dockerfile")
        shutil.copy2(binary, ctx / image.binary)
        done = subprocess.run(
            ["docker", "build", "-q", "-t", image.ref, str(ctx)],
            capture_output=True,
            text=True,
        )
    if done.returncode != 0:
        raise ClusterError(f"docker build of {image.ref} failed:\n{done.stderr.strip()}")


def import_into_containerd(ref: str, socket: Path) -> None:
    """Stream `docker save REF` into the cluster's containerd (k8s.io namespace)."""
    save = subprocess.Popen(["docker", "save", ref], stdout=subprocess.PIPE)
    done = subprocess.run(
        ["ctr", "--address", str(socket), "-n", NAMESPACE, "images", "import", "-"],
        stdin=save.stdout,
        capture_output=True,
        text=True,
    )
    assert save.stdout is not None
    save.stdout.close()
    if save.wait() != 0:
        raise ClusterError(
            f"`docker save {ref}` failed: is it a local image? "
            f"Build it first (docker build -t {ref} .)"
        )
    if done.returncode != 0:
        raise ClusterError(f"Importing {ref} into containerd failed: {done.stderr.strip()}")


def ensure_node_images(binaries: dict[str, Path], socket: Path) -> list[str]:
    """Make every node image present in containerd; return the refs that were imported."""
    present = containerd_images(socket)
    imported = []
    for image in NODE_IMAGES:
        if image.ref in present:
            continue
        require_docker()  # only when an image is missing: a built cluster starts without it
        if image_id(image.ref) is None:
            docker_build(image, binaries[image.binary])
        import_into_containerd(image.ref, socket)
        imported.append(image.ref)
    return imported
