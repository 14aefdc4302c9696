"""Build the plugin's container image locally: `docker build` of cluster/addons/gpu/Dockerfile.

No registry is involved: the base is the workshop's Debian image built from Debian packages, and
the cluster backends import the result (`kind load docker-image`, or `ctr images import`).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from docker2k8s import __version__, images
from docker2k8s.paths import REPO_ROOT

IMAGE_REPOSITORY = "docker2k8s/gpu-plugin"
DEFAULT_BASE = "docker2k8s/base:bookworm"
_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # src/docker2k8s: the build context
DOCKERFILE = REPO_ROOT / "cluster" / "addons" / "gpu" / "Dockerfile"
MANIFEST = REPO_ROOT / "cluster" / "addons" / "gpu" / "daemonset.yaml"


class ImageBuildError(RuntimeError):
    """The image could not be built; the message says why and what to do."""


def image_name() -> str:
    return f"{IMAGE_REPOSITORY}:{__version__}"


def _build_workshop_base() -> None:
    """Build docker2k8s/base:bookworm from Debian packages, as the app images do (cached)."""
    try:
        images.build_images(["base"])
    except images.ImageBuildError as error:
        raise ImageBuildError(f"building the base image {DEFAULT_BASE} failed: {error}") from None


def build_plugin_image(base: str | None = None, log_path: Path | None = None) -> str:
    """Build docker2k8s/gpu-plugin:<version> and return its name.

    `base` defaults to $D2K_GPU_BASE_IMAGE, else the workshop's docker2k8s/base:bookworm,
    which is built first (debootstrap, a few minutes once, then cached) when it is missing.
    The build log goes to `log_path` when given; on failure its last lines are in the error.
    """
    base = base or os.environ.get("D2K_GPU_BASE_IMAGE") or DEFAULT_BASE
    if not DOCKERFILE.exists():
        raise ImageBuildError(f"{DOCKERFILE} is missing: run from a checkout of the repository.")
    try:
        base_present = images.image_id(base) is not None
    except FileNotFoundError:
        raise ImageBuildError(
            "the docker CLI is not installed. Fix: apt-get install docker.io"
        ) from None
    if not base_present and base == DEFAULT_BASE:
        _build_workshop_base()
    elif not base_present:
        raise ImageBuildError(
            f"base image {base} is not in Docker Engine. Fix: build the workshop's base image "
            "(apps/base) first, or pass another Debian bookworm image as base / D2K_GPU_BASE_IMAGE."
        )
    name = image_name()
    with tempfile.TemporaryDirectory(prefix="d2k-gpu-image-") as context:
        # A clean copy of the sources: no __pycache__, so an unchanged plugin hits Docker's cache.
        shutil.copy2(_PACKAGE_DIR / "__init__.py", context)
        shutil.copytree(
            _PACKAGE_DIR / "gpu",
            Path(context) / "gpu",
            ignore=shutil.ignore_patterns("__pycache__", "*.pyc"),
        )
        command = [
            "docker", "build", "--build-arg", f"BASE={base}", "-f", str(DOCKERFILE),
            "-t", name, context,
        ]  # fmt: skip
        result = subprocess.run(command, capture_output=True, text=True, check=False)
    output = result.stdout + result.stderr
    if log_path is not None:
        log_path.parent.mkdir(parents=True, exist_ok=True)
        log_path.write_text(output)
    if result.returncode != 0:
        tail = "\n".join(output.splitlines()[-20:])
        raise ImageBuildError(f"docker build of {name} failed (exit {result.returncode}):\n{tail}")
    return name
