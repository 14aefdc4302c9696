"""lab_settings: what a lab reads about its cluster, from the workshop's record."""

from __future__ import annotations

from pathlib import Path

import pytest

from docker2k8s import lab_settings
from docker2k8s.cluster import record
from docker2k8s.paths import REPO_ROOT

APPS = REPO_ROOT / "apps" / "k8s"


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("D2K_STATE_DIR", str(tmp_path / "state"))
    return tmp_path


def test_the_workshop_cluster_keeps_names_and_files(home: Path) -> None:
    record.save("local")
    assert lab_settings.namespace("lab03") == "lab03"
    assert lab_settings.image("docker2k8s/inference:0.1.0") == "docker2k8s/inference:0.1.0"
    assert lab_settings.manifests(str(APPS)) == str(APPS)


def test_an_external_cluster_gets_prefixed_namespaces_and_registry_images(home: Path) -> None:
    record.save("external", {"registry": "registry.example:5000/team", "namespace_prefix": "ada-"})
    assert lab_settings.namespace("lab03") == "ada-lab03"
    ref = lab_settings.image("docker2k8s/inference:0.1.0")
    assert ref == "registry.example:5000/team/docker2k8s/inference:0.1.0"
    assert lab_settings.image("busybox:1.36") == "busybox:1.36"  # not the workshop's: unchanged

    copy = Path(lab_settings.manifests(str(APPS)))
    names = sorted(p.name for p in APPS.glob("*.yaml"))
    assert sorted(p.name for p in copy.glob("*.yaml")) == names
    original = (APPS / "inference-pod.yaml").read_text()
    rewritten = (copy / "inference-pod.yaml").read_text()
    # Only the image value changes: comments and every other line stay as written.
    changed = [
        (a, b) for a, b in zip(original.splitlines(), rewritten.splitlines(), strict=True) if a != b
    ]
    assert len(changed) == 1 and ref in changed[0][1], changed
    assert "# built locally" in changed[0][1]
