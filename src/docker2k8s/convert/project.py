"""What both front ends (docker run, Compose) produce, and the choices the user can make."""

from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any


@dataclass
class Project:
    """Services in the normalized Compose long syntax (see normalize.py), plus the
    top-level volumes, secrets and configs they refer to."""

    name: str
    base_dir: Path
    services: dict[str, dict[str, Any]]
    volumes: dict[str, dict[str, Any]] = field(default_factory=dict)
    secrets: dict[str, dict[str, Any]] = field(default_factory=dict)
    configs: dict[str, dict[str, Any]] = field(default_factory=dict)
    environ: dict[str, str] = field(default_factory=dict)
    # services left out by --profile: a depends_on to one of them is explained, not an error
    disabled: set[str] = field(default_factory=set)
    # docker run names named volumes implicitly; Compose must declare them at the top level
    implicit_volumes: bool = False

    @cached_property
    def volume_users(self) -> dict[str, list[str]]:
        """For each named volume, the services that mount it, in file order (found in one pass:
        looking it up per volume made 30,000 services take hours)."""
        users: dict[str, dict[str, None]] = {}
        for name, svc in self.services.items():
            for volume in svc.get("volumes", []):
                if volume["type"] == "volume" and volume.get("source"):
                    users.setdefault(volume["source"], {})[name] = None
        return {source: list(names) for source, names in users.items()}


@dataclass
class Options:
    """Choices the input cannot express."""

    statefulsets: set[str] = field(default_factory=set)
    volume_size: str = "1Gi"  # PVC size when the volume has no docker2k8s.size label
    all_gpus: int = 1  # what `--gpus all` becomes: Kubernetes needs a number
    wait_image: str = "busybox:1.36"  # image of the init containers that wait for depends_on
    service_type: str = "ClusterIP"
    workload: str | None = None  # force "Pod", "Deployment" or "StatefulSet"


SIZE_LABEL = "docker2k8s.size"
