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

from docker2k8s import images, versions
from docker2k8s.errors import D2KError
from docker2k8s.paths import REPO_ROOT

IMAGE_REPOSITORY = "docker2k8s/gpu-plugin"
DEFAULT_BASE = "docker2k8s/base:bookworm"
_PACKAGE_DIR = Path(__file__).resolve().parents[1]  # src/docker2k8s: the build context
DOCKERFILE = REPO_ROOT / "cluster" / "addons" / "gpu" / "Dockerfile"


def image_name() -> str:
    return f"{IMAGE_REPOSITORY}:{versions.APPS}"


def build_plugin_image(base: str | None = None, log_path: Path | None = None) -> str:
    """Build docker2k8s/gpu-plugin:<version> and return its name.

    `base` defaults to $D2K_GPU_BASE_IMAGE, else the workshop's docker2k8s/base:bookworm,
    which is built first (debootstrap, a few minutes once, then cached) when it is missing.
    The build log goes to `log_path` when given; on failure its last lines are in the error.
    """
    base = base or os.environ.get("D2K_GPU_BASE_IMAGE") or DEFAULT_BASE
    if not DOCKERFILE.exists():
        raise D2KError(f"{DOCKERFILE} is missing.", "run d2k from a checkout of the repository")
    images.check_docker()
    base_present = images.image_id(base) is not None
    if not base_present and base == DEFAULT_BASE:
        images.build_images(["base"])
    elif not base_present:
        raise D2KError(
            f"The base image {base} is not in Docker Engine.",
            "build the workshop's base image first (`d2k images build base`), or pass another "
            "Debian bookworm image as base / D2K_GPU_BASE_IMAGE",
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
        raise D2KError(
            f"docker build of {name} failed (exit {result.returncode}):\n{tail}",
            "read the build output above; `docker version` must answer",
        )
    return name
