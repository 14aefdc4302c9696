"""kompose, built from its Go module (`d2k kompose`), on the course's Compose file: the converter
lab 08 compares `d2k convert compose` with. These are kompose's behaviours the docs state."""

from __future__ import annotations

import subprocess

import pytest
import yaml

from docker2k8s import versions
from docker2k8s.images import APPS_DIR


@pytest.fixture(autouse=True, scope="module")
def compose_secrets() -> None:
    """kompose reads the password files compose.yaml names; create.sh makes them once."""
    subprocess.run([APPS_DIR / "secrets" / "create.sh"], check=True, capture_output=True)


def test_kompose_is_the_pinned_release(d2k):
    done = d2k("kompose", "version")
    assert done.returncode == 0, done.stderr
    assert done.stdout.split()[0] == versions.KOMPOSE.removeprefix("v")


def test_kompose_drops_gpus_shm_and_sizes_without_a_warning(d2k, tmp_path):
    out = tmp_path / "kompose.yaml"
    done = d2k("kompose", "convert", "-f", str(APPS_DIR / "compose.yaml"), "-o", str(out))
    assert done.returncode == 0, done.stderr
    text = out.read_text()
    objects = [o for o in yaml.safe_load_all(text) if o]
    assert {"Deployment", "PersistentVolumeClaim"} <= {o["kind"] for o in objects}
    # The GPU reservation and shm_size of the inference service vanish ...
    assert "nvidia.com/gpu" not in text and "/dev/shm" not in text
    # ... without a word about them, and every claim gets kompose's default size.
    warnings = [line for line in done.stderr.splitlines() if "WARN" in line]
    assert warnings, "kompose warns about other keys (restart policies)"
    assert not [w for w in warnings for key in ("shm", "devices", "depends", "gpu") if key in w]
    sizes = {
        o["spec"]["resources"]["requests"]["storage"]
        for o in objects
        if o["kind"] == "PersistentVolumeClaim"
    }
    assert sizes == {"100Mi"}


def test_d2k_convert_keeps_them(d2k, tmp_path):
    done = d2k("convert", "compose", str(APPS_DIR / "compose.yaml"), "-o", str(tmp_path))
    assert done.returncode == 0, done.stderr
    text = "".join(path.read_text() for path in sorted(tmp_path.glob("*.yaml")))
    assert "nvidia.com/gpu" in text and "/dev/shm" in text
