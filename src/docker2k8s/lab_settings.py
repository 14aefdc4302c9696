"""What a lab asks about the cluster it runs on, so the same notebook runs on any of them.

On the workshop's own cluster (local, kind) the nodes hold the workshop's images under their
Docker names and each lab has a namespace of its own name. On an existing cluster
(`d2k cluster use CONTEXT --registry HOST/PATH [--namespace-prefix P]`) the nodes pull from that
registry, so `docker2k8s/inference:0.1.0` is `HOST/PATH/docker2k8s/inference:0.1.0` there, and
namespaces may carry a prefix (one learner's `alice-lab03` beside another's). In a notebook:

    NS = lab_settings.namespace("lab03")
    CLUSTER_IMAGE = lab_settings.image(IMAGE)  # the name the cluster's nodes pull it by
    MANIFESTS = lab_settings.manifests()  # apps/k8s, or a copy naming the cluster's registry
    os.environ.update(NS=NS, MANIFESTS=MANIFESTS)  # for shell commands:
    !kubectl apply -n $NS -f $MANIFESTS/inference-pod.yaml
"""

from __future__ import annotations

import hashlib
import json
import re
import subprocess
import tempfile
from pathlib import Path

from docker2k8s.cluster import record
from docker2k8s.cluster.registry import target
from docker2k8s.grading import kube
from docker2k8s.paths import REPO_ROOT, state_dir

# The workshop's own images: the only references a registry prefix applies to.
WORKSHOP_IMAGES = "docker2k8s/"
_IMAGE_LINE = re.compile(r"^(\s*(?:-\s+)?image:\s*)(" + re.escape(WORKSHOP_IMAGES) + r"\S+)", re.M)


def registry() -> str | None:
    """HOST/PATH the cluster's nodes pull the workshop's images from; None when they hold them."""
    value = record.settings().get("registry")
    return value if isinstance(value, str) and value else None


def image(name: str) -> str:
    """The reference the cluster's nodes know the workshop image `name` by."""
    prefix = registry()
    return target(name, prefix) if prefix and name.startswith(WORKSHOP_IMAGES) else name


def image_ready(name: str) -> bool:
    """Whether the cluster's nodes can run the workshop image `name`: a node holds it, or it is
    in the registry they pull from (Docker keeps a digest for each repository it pushed to)."""
    if not registry():
        return kube.node_has_image(name)
    repository = image(name).rpartition(":")[0]
    done = subprocess.run(
        ["docker", "image", "inspect", "--format", "{{json .RepoDigests}}", name],
        capture_output=True,
        text=True,
    )
    digests = json.loads(done.stdout) if done.returncode == 0 else []
    return any(digest.startswith(repository + "@") for digest in digests)


def namespace(lab: str) -> str:
    """The namespace of `lab` (for example "lab03") on this cluster."""
    prefix = record.settings().get("namespace_prefix") or ""
    return f"{prefix}{lab}"


def work_dir(namespace: str) -> Path:
    """A private folder for the files a lab writes (manifests, settings), outside the repository."""
    folder = Path(tempfile.gettempdir()) / f"docker2k8s-{namespace}"
    folder.mkdir(mode=0o700, exist_ok=True)
    return folder


def manifests(directory: str | None = None) -> str:
    """The workshop's manifests (apps/k8s, or `directory`), or a copy of their YAML files with the
    workshop's images named for this cluster's registry (only the `image:` values change)."""
    source = Path(directory) if directory else REPO_ROOT / "apps" / "k8s"
    if not registry():
        return str(source)
    digest = hashlib.sha256(f"{source.resolve()} {registry()}".encode()).hexdigest()[:8]
    copy = state_dir() / "manifests" / digest
    copy.mkdir(parents=True, exist_ok=True)
    for path in sorted(source.glob("*.yaml")):
        (copy / path.name).write_text(for_cluster(path.read_text()))
    return str(copy)


def for_cluster(manifest: str) -> str:
    """A manifest's text with the workshop's images named as this cluster's nodes pull them."""
    return _IMAGE_LINE.sub(lambda m: m[1] + image(m[2]), manifest)
