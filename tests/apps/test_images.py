"""The app images: built with no registry, cached, non-root, no baked-in secrets, runnable."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from docker2k8s import apt_sources, images
from docker2k8s.errors import D2KError

from .procs import free_port

pytestmark = pytest.mark.docker


def inspect(ref: str) -> dict:
    out = subprocess.run(
        ["docker", "image", "inspect", ref], capture_output=True, text=True, check=True
    ).stdout
    return json.loads(out)[0]


def test_all_images_built_and_tagged(app_images):
    assert app_images == images.image_refs()
    for name in images.APP_NAMES:
        # :latest points at the same image as :<version>.
        assert (
            inspect(f"docker2k8s/{name}:latest")["Id"] == inspect(f"docker2k8s/{name}:0.1.0")["Id"]
        )


def test_second_build_is_a_cache_hit(app_images):
    results = images.build_images()
    assert [r.built for r in results] == [False] * len(results)


def test_base_image_comes_from_debian_packages(app_images):
    base = inspect(images.BASE_REF)
    assert images.HASH_LABEL in base["Config"]["Labels"]
    os_release = subprocess.run(
        ["docker", "run", "--rm", images.BASE_REF, "cat", "/etc/os-release"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert "VERSION_CODENAME=bookworm" in os_release.stdout
    for name in images.APP_NAMES:  # every app image is built on top of it
        layers = inspect(f"docker2k8s/{name}:0.1.0")["RootFS"]["Layers"]
        assert layers[0] == base["RootFS"]["Layers"][0], name


@pytest.mark.parametrize("name", images.APP_NAMES)
def test_images_run_as_non_root_without_baked_secrets(app_images, name):
    config = inspect(f"docker2k8s/{name}:0.1.0")["Config"]
    uid = config["User"].split(":")[0]
    # Numeric and not 0: Kubernetes' runAsNonRoot can only verify numeric users.
    assert uid.isdigit() and uid != "0", f"{name} runs as {config['User']!r}"
    env = " ".join(config.get("Env") or [])
    assert "PASSWORD=" not in env, f"{name} bakes a password into its environment"


def test_inference_image_size_target(app_images):
    size_mb = inspect("docker2k8s/inference:0.1.0")["Size"] / 1e6
    assert size_mb <= 300, f"inference image is {size_mb:.0f} MB; the target is 300 MB"


def test_unknown_image_name_is_a_clear_error():
    with pytest.raises(D2KError, match=r"unknown image name") as raised:
        images.image_specs(["inference", "nginx"])
    assert raised.value.fix.startswith("choose from base, inference")


def test_d2k_images_build_cli(app_images):
    d2k = str(Path(sys.executable).parent / "d2k")  # the venv's, even when not on PATH
    r = subprocess.run([d2k, "images", "build", "inference", "web"], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "up to date (cached)" in r.stdout
    bad = subprocess.run([d2k, "images", "build", "nope"], capture_output=True, text=True)
    assert bad.returncode == 2 and "unknown image name" in bad.stderr
    assert "Traceback" not in bad.stderr


def test_inference_container_port_80_non_root_and_model_volume(app_images):
    volume = f"d2k-test-model-{free_port()}"
    port = free_port()

    def run() -> str:
        return subprocess.run(
            [
                "docker",
                "run",
                "-d",
                "-p",
                f"127.0.0.1:{port}:80",
                "-v",
                f"{volume}:/data",
                "--shm-size",
                "1g",
                "-e",
                "NVIDIA_VISIBLE_DEVICES=GPU-1234",
                "docker2k8s/inference:0.1.0",
                "--model-id",
                "lab/tiny",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()

    def wait_info() -> dict:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    return httpx.get(f"http://127.0.0.1:{port}/info").json()
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError("inference container did not become healthy")

    cid = run()
    try:
        info = wait_info()
        assert info["model_source"] == "created" and info["model_dir"] == "/data/lab/tiny"
        assert info["gpus"] == ["GPU-1234"] and info["hostname"] == cid[:12]
        uid = subprocess.run(
            ["docker", "exec", cid, "id", "-u"], capture_output=True, text=True
        ).stdout.strip()
        assert uid != "0"
        subprocess.run(["docker", "rm", "-f", cid], check=True, capture_output=True)
        cid = run()  # a new container on the same volume reuses the model files
        assert wait_info()["model_source"] == "loaded"
        logs = subprocess.run(["docker", "logs", cid], capture_output=True, text=True)
        assert "loaded model from /data/lab/tiny" in logs.stdout + logs.stderr
    finally:
        subprocess.run(["docker", "rm", "-f", cid], capture_output=True)
        subprocess.run(["docker", "volume", "rm", volume], capture_output=True)


def test_db_refuses_to_start_without_a_root_password(app_images):
    r = subprocess.run(
        ["docker", "run", "--rm", "docker2k8s/db:0.1.0"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert r.returncode == 2
    assert "no root password was given" in r.stderr
    assert "MYSQL_ROOT_PASSWORD_FILE" in r.stderr


def test_build_on_a_present_base_reads_no_apt_sources(tmp_path, monkeypatch):
    """`d2k images build --base IMAGE` on a laptop: the base was pulled, the host has no bookworm
    apt sources (macOS, Ubuntu), and nothing may look for them. The workshop's own images stay as
    they are: the app here is a test's own."""
    monkeypatch.setenv("D2K_APT_DIR", str(tmp_path / "no-apt"))  # a host without Debian's apt
    monkeypatch.delenv("D2K_DEBIAN_MIRROR", raising=False)
    with pytest.raises(D2KError, match="No apt source for Debian bookworm"):
        apt_sources.host_mirrors(images.SUITE)  # what building the Debian base would need
    if images.image_id(images.BASE_REF) is None:
        pytest.fail(f"{images.BASE_REF} is missing; fix: d2k images build base")

    pulled = "docker2k8s-test/pulled-base:1"  # as `docker pull` would leave it
    context = tmp_path / "app"
    context.mkdir()
    (context / "Dockerfile").write_text('ARG BASE\nFROM ${BASE}\nCMD ["true"]\n')
    app = images.ImageSpec("d2k-test-present-base", context)
    with pytest.raises(D2KError, match="not in the local Docker Engine") as raised:
        images.build_specs([app], "docker2k8s-test/never-pulled:1")
    assert raised.value.fix.startswith("docker pull docker2k8s-test/never-pulled:1")
    subprocess.run(["docker", "tag", images.BASE_REF, pulled], check=True)
    try:
        results = images.build_specs([app], pulled)
        assert [r.built for r in results] == [True]
        assert images.image_id(app.ref) is not None
    finally:
        subprocess.run(["docker", "rmi", app.ref, app.latest, pulled], capture_output=True)
