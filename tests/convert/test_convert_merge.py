"""Several Compose files merged like `docker compose -f A -f B`, by the specification's rules."""

from pathlib import Path
from typing import Any

import pytest
from convert_checks import check_objects, container, course_stack, get

from docker2k8s.convert import convert_compose

BASE = """
services:
  app:
    image: example/app:1
    command: [serve, --port, "80"]
    dns: [1.1.1.1]
    environment: [A=1, B=2]
    ports: ["8080:80"]
    volumes: [data:/data, ./conf:/conf]
    deploy:
      resources:
        reservations:
          devices:
            - {driver: nvidia, count: 1, capabilities: [gpu]}
        limits:
          memory: 1g
volumes:
  data: {}
"""

CASES: list[tuple[str, str, Any]] = [
    ("mapping-merge", "services:\n  app:\n    environment:\n      B: two\n      C: '3'\n",
     lambda c, o: {e["name"]: e["value"] for e in c["env"]} == {"A": "1", "B": "two", "C": "3"}),
    ("sequence-append", "services:\n  app:\n    dns: [8.8.8.8]\n",
     lambda c, o: o["dnsConfig"]["nameservers"] == ["1.1.1.1", "8.8.8.8"]),
    ("command-replaced", "services:\n  app:\n    command: [serve, --debug]\n",
     lambda c, o: c["args"] == ["serve", "--debug"]),
    ("volume-by-target", "services:\n  app:\n    volumes: [other:/data]\nvolumes:\n  other: {}\n",
     lambda c, o: [v.get("persistentVolumeClaim", {}).get("claimName") for v in o["volumes"]]
     == ["other", None]),
    ("reset", "services:\n  app:\n    deploy:\n      resources:\n        reservations:\n"
     "          devices: !reset []\n",
     lambda c, o: c["resources"] == {"limits": {"memory": "1Gi"}}),
    ("override", "services:\n  app:\n    ports: !override ['9090:90']\n",
     lambda c, o: [p["containerPort"] for p in c["ports"]] == [90]),
    ("ports-append", "services:\n  app:\n    ports: ['8443:443', '8080:80']\n",
     lambda c, o: [p["containerPort"] for p in c["ports"]] == [80, 443]),
]  # fmt: skip


@pytest.mark.parametrize(("name", "override", "check"), CASES, ids=[c[0] for c in CASES])
def test_merge(name: str, override: str, check: Any, tmp_path: Path) -> None:
    (tmp_path / "conf").mkdir()
    (tmp_path / "compose.yaml").write_text(BASE)
    (tmp_path / "override.yaml").write_text(override)
    result = convert_compose([tmp_path / "compose.yaml", tmp_path / "override.yaml"], environ={})
    check_objects(result.objects)
    deploy = get(result.objects, "Deployment", "app")
    assert check(container(result.objects), deploy["spec"]["template"]["spec"]), name


def test_reset_in_a_single_file(tmp_path: Path) -> None:
    (tmp_path / "compose.yaml").write_text(
        "services:\n  app:\n    image: a:1\n    ports: !reset ['80:80']\n"
    )
    result = convert_compose(tmp_path / "compose.yaml", environ={})
    assert [o["kind"] for o in result.objects] == ["Deployment"]


def test_course_cpu_override(tmp_path: Path) -> None:
    """apps/compose.cpu.yaml drops the inference GPU reservation on machines without GPUs."""
    files = course_stack(tmp_path, "compose.yaml", "compose.cpu.yaml")
    gpu = convert_compose(files[0], environ={})
    cpu = convert_compose(files, environ={})
    check_objects(cpu.objects)
    limits = container(gpu.objects, "inference").get("resources", {}).get("limits", {})
    assert limits.get("nvidia.com/gpu") == "1"
    assert "resources" not in container(cpu.objects, "inference")
