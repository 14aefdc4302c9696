"""The local cluster's containerd, seen through its `ctr` client: health and image imports.

Images are streamed from Docker (`docker save | ctr import`) into the k8s.io namespace, the one
the kubelet's CRI uses. The Docker image ID imported under each name is remembered, so `up`
skips an import when containerd already holds that very image.
"""

from __future__ import annotations

import hashlib
import subprocess
from pathlib import Path

from docker2k8s import shell
from docker2k8s.errors import D2KError
from docker2k8s.images import check_docker, image_id

from .. import gobuild

NAMESPACE = "k8s.io"


def _ctr(socket: Path, *args: str, **kwargs) -> subprocess.CompletedProcess[str]:
    ctr = gobuild.CONTAINERD.binary("ctr")
    return shell.run([ctr, "--address", socket, *args], **kwargs)


def health(socket: Path) -> tuple[bool, str]:
    done = _ctr(socket, "version", check=False, timeout=5)
    if done.returncode == 0:
        return True, f"{socket} answers"
    return False, f"{socket}: {done.stderr.strip() or 'no answer'}"


def full_name(ref: str) -> str:
    """The name containerd files a Docker image under: `docker2k8s/base:bookworm` becomes
    `docker.io/docker2k8s/base:bookworm`, `busybox` becomes `docker.io/library/busybox`."""
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        return ref
    return f"docker.io/{ref}" if rest else f"docker.io/library/{ref}"


def image_names(socket: Path) -> set[str]:
    listed = _ctr(socket, "-n", NAMESPACE, "images", "ls", "-q", what="listing the node's images")
    return set(listed.stdout.split())


def import_image(ref: str, socket: Path, stamps: Path) -> bool:
    """Copy the Docker image `ref` into containerd unless it holds the same image already;
    True when it imported."""
    check_docker()
    docker_id = image_id(ref)
    if docker_id is None:
        raise D2KError(
            f"No local Docker image named {ref!r}.",
            f"build it first (`docker build -t {ref} .` or `d2k images build`)",
        )
    stamp = stamps / hashlib.sha256(ref.encode()).hexdigest()[:16]
    if stamp.exists() and stamp.read_text() == docker_id and full_name(ref) in image_names(socket):
        return False
    save = subprocess.Popen(["docker", "save", ref], stdout=subprocess.PIPE)
    ctr = gobuild.CONTAINERD.binary("ctr")
    done = subprocess.run(
        [str(ctr), "--address", str(socket), "-n", NAMESPACE, "images", "import", "-"],
        stdin=save.stdout,
        capture_output=True,
        text=True,
    )
    assert save.stdout is not None
    save.stdout.close()
    if save.wait() != 0 or done.returncode != 0:
        raise D2KError(
            f"Copying {ref} from Docker into the cluster's containerd failed: "
            f"{done.stderr.strip() or 'docker save failed'}",
            "check that Docker Engine runs (`docker version`) and the cluster is up "
            "(`d2k cluster status`)",
        )
    stamps.mkdir(parents=True, exist_ok=True)
    stamp.write_text(docker_id)
    return True
