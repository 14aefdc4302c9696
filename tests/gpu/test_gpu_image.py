"""The plugin image, built locally, registers with a kubelet through a bind-mounted directory."""

from __future__ import annotations

import queue
import subprocess
import uuid
from pathlib import Path

import pytest
from kubelet_peer import KubeletPeer

from docker2k8s.errors import D2KError
from docker2k8s.gpu import api
from docker2k8s.gpu.devices import gpu_ids
from docker2k8s.gpu.image import build_plugin_image

pytestmark = pytest.mark.docker


@pytest.fixture(scope="module")
def plugin_image(tmp_path_factory: pytest.TempPathFactory) -> str:
    log = tmp_path_factory.mktemp("gpu-image") / "build.log"
    try:
        return build_plugin_image(log_path=log)
    except D2KError as error:
        pytest.fail(str(error))


def test_image_registers_and_allocates(plugin_image: str, kubelet: KubeletPeer, socket_dir: Path):
    name = f"d2k-gpu-test-{uuid.uuid4().hex[:8]}"
    subprocess.run(
        [
            "docker", "run", "-d", "--name", name,
            "-e", "NODE_NAME=image-node", "-e", "D2K_GPU_COUNT=3",
            "--cap-drop", "ALL", "--security-opt", "no-new-privileges",
            "-v", f"{socket_dir}:/var/lib/kubelet/device-plugins",
            plugin_image,
        ],
        check=True,
        capture_output=True,
    )  # fmt: skip

    def logs() -> str:
        out = subprocess.run(["docker", "logs", name], capture_output=True, text=True)
        return out.stdout + out.stderr

    try:
        try:
            request = kubelet.registrations.get(timeout=60)
            devices = kubelet.device_lists.get(timeout=15)
        except queue.Empty:
            pytest.fail(f"the plugin container did not register; its log:\n{logs()}")
        assert request.resource_name == "nvidia.com/gpu"
        assert [i for i, _ in devices] == gpu_ids("image-node", 3)
        m = api.load()
        ids = [devices[0][0], devices[2][0]]
        response = kubelet.plugin(request.endpoint).Allocate(
            m.AllocateRequest(container_requests=[m.ContainerAllocateRequest(devices_ids=ids)]),
            timeout=5,
        )
        assert dict(response.container_responses[0].envs) == {
            "NVIDIA_VISIBLE_DEVICES": ",".join(ids)
        }
        subprocess.run(["docker", "stop", "-t", "15", name], check=True, capture_output=True)
        code = subprocess.run(
            ["docker", "inspect", "-f", "{{.State.ExitCode}}", name],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        assert code == "0", logs()
        assert "stopped" in logs()
    finally:
        subprocess.run(["docker", "rm", "-f", name], capture_output=True)
