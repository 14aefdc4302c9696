"""Images the cluster's nodes run for its add-ons, built here with Docker and never pulled.

Most are one static Go binary (built by gobuild from its pinned module) on an empty base, from
cluster/images/<name>/Dockerfile. The providers copy them into their nodes (load_image).
"""

from __future__ import annotations

import hashlib
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from rich.console import Console

from docker2k8s import shell
from docker2k8s.images import check_docker, image_id
from docker2k8s.paths import cluster_dir

from . import gobuild
from .gobuild import GoProgram


@dataclass(frozen=True)
class NodeImage:
    name: str  # directory under cluster/images/ holding its Dockerfile
    ref: str  # "localhost/" keeps it from ever being looked up on a registry
    program: GoProgram
    binary: str

    def ensure(self, console: Console) -> str:
        """Build the binary (cached) and the image unless Docker has it; return the ref."""
        if image_id(self.ref) is None:
            check_docker()
            binary = gobuild.build(self.program, console=console) / self.binary
            with tempfile.TemporaryDirectory() as tmp:
                context = Path(tmp)
                shutil.copy2(cluster_dir() / "images" / self.name / "Dockerfile", context)
                shutil.copy2(binary, context / self.binary)
                (context / self.binary).chmod(0o755)  # images run it as a non-root user
                shell.run(
                    ["docker", "build", "-q", "-t", self.ref, context],
                    what=f"docker build of {self.ref}",
                )
        return self.ref


def _image(program: GoProgram) -> NodeImage:
    """The image of a one-binary program, named after it (cluster/images/<name>/Dockerfile)."""
    name, tag = program.name, program.version
    # A program with sources of ours gets their digest (and its Dockerfile's) in its tag: a
    # changed program is a new image, which the nodes load and the add-on's Pods roll out to.
    if program.sources():
        dockerfile = (cluster_dir() / "images" / name / "Dockerfile").read_bytes()
        tag += "-" + hashlib.sha256(program.fingerprint().encode() + dockerfile).hexdigest()[:8]
    return NodeImage(name, f"localhost/docker2k8s/{name}:{tag}", program, program.binaries[0])


PAUSE = _image(gobuild.PAUSE)
COREDNS = _image(gobuild.COREDNS)
METRICS_SERVER = _image(gobuild.METRICS_SERVER)
LOCAL_PATH_PROVISIONER = _image(gobuild.LOCAL_PATH_PROVISIONER)
KWOK = _image(gobuild.KWOK)
GPU_DRA_DRIVER = _image(gobuild.GPU_DRA_DRIVER)
REGISTRY = _image(gobuild.REGISTRY)
KUEUE = _image(gobuild.KUEUE)
TRAEFIK = _image(gobuild.TRAEFIK)
PROMETHEUS = _image(gobuild.PROMETHEUS)
PROMETHEUS_ADAPTER = _image(gobuild.PROMETHEUS_ADAPTER)
NODE_IMAGES = (
    PAUSE,
    COREDNS,
    METRICS_SERVER,
    LOCAL_PATH_PROVISIONER,
    KWOK,
    GPU_DRA_DRIVER,
    REGISTRY,
    KUEUE,
    TRAEFIK,
    PROMETHEUS,
    PROMETHEUS_ADAPTER,
)
