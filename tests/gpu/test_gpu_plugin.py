"""The plugin as a real process, speaking gRPC over unix sockets to the kubelet's side."""

from __future__ import annotations

import queue
import re
import time
from pathlib import Path
from typing import Any

import grpc
import pytest
from kubelet_peer import KubeletPeer

from docker2k8s.gpu import api
from docker2k8s.gpu.devices import gpu_ids

UUID_ID = re.compile(r"^GPU-[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def next_item(q: queue.Queue[Any], what: str, plugin: Any, timeout: float = 15.0) -> Any:
    """The next item the kubelet side received, or a failure that shows the plugin's log."""
    try:
        return q.get(timeout=timeout)
    except queue.Empty:
        pytest.fail(f"no {what} within {timeout:.0f} s; plugin log:\n{plugin.log()}")


def test_registers_with_resource_name_and_endpoint(
    kubelet: KubeletPeer, start_plugin, socket_dir: Path
) -> None:
    plugin = start_plugin("--gpus", "4", "--node-name", "node-a")
    request = next_item(kubelet.registrations, "registration", plugin)
    assert request.version == "v1beta1"
    assert request.resource_name == "nvidia.com/gpu"
    assert request.endpoint == "nvidia-gpu.sock"
    assert request.options.get_preferred_allocation_available is True
    assert request.options.pre_start_required is False
    assert (socket_dir / request.endpoint).is_socket()
    options = kubelet.plugin(request.endpoint).GetDevicePluginOptions(api.load().Empty(), timeout=5)
    assert options == request.options


def test_list_and_watch_streams_n_healthy_devices(kubelet: KubeletPeer, start_plugin) -> None:
    plugin = start_plugin("--gpus", "5", "--node-name", "node-a")
    next_item(kubelet.registrations, "registration", plugin)
    devices = next_item(kubelet.device_lists, "ListAndWatch response", plugin)
    assert len(devices) == 5
    assert {health for _, health in devices} == {"Healthy"}
    ids = [device_id for device_id, _ in devices]
    assert all(UUID_ID.match(i) and len(i) <= 63 for i in ids), ids
    assert len(set(ids)) == 5
    assert ids == gpu_ids("node-a", 5)  # deterministic per node: survives plugin restarts


def test_default_is_eight_gpus_from_env(kubelet: KubeletPeer, start_plugin) -> None:
    plugin = start_plugin(env={"NODE_NAME": "node-b"})
    next_item(kubelet.registrations, "registration", plugin)
    devices = next_item(kubelet.device_lists, "ListAndWatch response", plugin)
    assert [i for i, _ in devices] == gpu_ids("node-b", 8)
    assert "8 x NVIDIA-A100-SXM4-40GB (40960 MiB) on node node-b" in plugin.log()


def test_gpu_count_from_env(kubelet: KubeletPeer, start_plugin) -> None:
    plugin = start_plugin(env={"D2K_GPU_COUNT": "3", "NODE_NAME": "node-c"})
    next_item(kubelet.registrations, "registration", plugin)
    devices = next_item(kubelet.device_lists, "ListAndWatch response", plugin)
    assert [i for i, _ in devices] == gpu_ids("node-c", 3)


def test_allocate_two_devices_sets_nvidia_visible_devices(
    kubelet: KubeletPeer, start_plugin
) -> None:
    plugin = start_plugin("--gpus", "4", "--node-name", "node-a")
    endpoint = next_item(kubelet.registrations, "registration", plugin).endpoint
    ids = gpu_ids("node-a", 4)
    m = api.load()
    response = kubelet.plugin(endpoint).Allocate(
        m.AllocateRequest(
            container_requests=[
                m.ContainerAllocateRequest(devices_ids=[ids[2], ids[0]]),
                m.ContainerAllocateRequest(devices_ids=[ids[3]]),
            ]
        ),
        timeout=5,
    )
    first, second = response.container_responses
    assert dict(first.envs) == {"NVIDIA_VISIBLE_DEVICES": f"{ids[2]},{ids[0]}"}
    assert dict(second.envs) == {"NVIDIA_VISIBLE_DEVICES": ids[3]}
    assert f"NVIDIA_VISIBLE_DEVICES={ids[2]},{ids[0]}" in plugin.log()


def test_allocate_unknown_device_is_refused(kubelet: KubeletPeer, start_plugin) -> None:
    plugin = start_plugin("--gpus", "2", "--node-name", "node-a")
    endpoint = next_item(kubelet.registrations, "registration", plugin).endpoint
    m = api.load()
    request = m.AllocateRequest(
        container_requests=[m.ContainerAllocateRequest(devices_ids=["GPU-not-on-this-node"])]
    )
    with pytest.raises(grpc.RpcError) as raised:
        kubelet.plugin(endpoint).Allocate(request, timeout=5)
    assert raised.value.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "GPU-not-on-this-node" in raised.value.details()


def test_preferred_allocation_keeps_required_and_fills_lowest(
    kubelet: KubeletPeer, start_plugin
) -> None:
    plugin = start_plugin("--gpus", "6", "--node-name", "node-a")
    endpoint = next_item(kubelet.registrations, "registration", plugin).endpoint
    ids = gpu_ids("node-a", 6)
    m = api.load()
    request = m.PreferredAllocationRequest(
        container_requests=[
            m.ContainerPreferredAllocationRequest(
                available_deviceIDs=[ids[5], ids[3], ids[1], ids[4]],
                must_include_deviceIDs=[ids[4]],
                allocation_size=3,
            )
        ]
    )
    (preferred,) = (
        kubelet.plugin(endpoint).GetPreferredAllocation(request, timeout=5).container_responses
    )
    assert list(preferred.deviceIDs) == [ids[4], ids[1], ids[3]]


def test_pre_start_container_when_options_say_so(kubelet: KubeletPeer, start_plugin) -> None:
    plugin = start_plugin("--gpus", "2", "--pre-start-required")
    request = next_item(kubelet.registrations, "registration", plugin)
    assert request.options.pre_start_required is True
    m = api.load()
    ids = [i for i, _ in next_item(kubelet.device_lists, "ListAndWatch response", plugin)]
    response = kubelet.plugin(request.endpoint).PreStartContainer(
        m.PreStartContainerRequest(devices_ids=ids), timeout=5
    )
    assert response == m.PreStartContainerResponse()
    assert f"PreStartContainer: {ids[0]}, {ids[1]}" in plugin.log()


def test_unhealthy_file_simulates_failing_gpus(
    kubelet: KubeletPeer, start_plugin, socket_dir: Path
) -> None:
    failures = socket_dir.parent / "unhealthy"
    plugin = start_plugin("--gpus", "4", "--node-name", "node-a", "--unhealthy-file", str(failures))
    next_item(kubelet.registrations, "registration", plugin)
    ids = gpu_ids("node-a", 4)
    assert next_item(kubelet.device_lists, "first list", plugin) == [(i, "Healthy") for i in ids]

    failures.write_text(f"1\n{ids[3]}\nbogus\n")
    changed = dict(next_item(kubelet.device_lists, "list after GPUs 1 and 3 failed", plugin))
    assert changed == {
        ids[0]: "Healthy",
        ids[1]: "Unhealthy",
        ids[2]: "Healthy",
        ids[3]: "Unhealthy",
    }
    assert "'bogus' is neither a GPU index" in plugin.log()

    failures.unlink()
    healed = next_item(kubelet.device_lists, "list after the file was removed", plugin)
    assert healed == [(i, "Healthy") for i in ids]


def test_reregisters_after_kubelet_restart(
    kubelet: KubeletPeer, start_plugin, socket_dir: Path
) -> None:
    plugin = start_plugin("--gpus", "3", "--node-name", "node-a")
    next_item(kubelet.registrations, "registration", plugin)
    next_item(kubelet.device_lists, "ListAndWatch response", plugin)

    kubelet.restart()  # removes kubelet.sock and the plugin's socket, serves a new kubelet.sock

    again = next_item(kubelet.registrations, "registration after the kubelet restart", plugin)
    assert again.resource_name == "nvidia.com/gpu"
    assert (socket_dir / again.endpoint).is_socket()
    devices = next_item(kubelet.device_lists, "ListAndWatch after re-registration", plugin)
    assert [i for i, _ in devices] == gpu_ids("node-a", 3)
    assert "kubelet.sock re-created" in plugin.log() or "plugin socket removed" in plugin.log()


def test_waits_for_a_kubelet_that_starts_later(socket_dir: Path, start_plugin) -> None:
    plugin = start_plugin("--gpus", "2")
    deadline = time.monotonic() + 15
    while "waiting for the kubelet socket" not in plugin.log():
        assert time.monotonic() < deadline, plugin.log()
        assert plugin.proc.poll() is None, plugin.log()
        time.sleep(0.1)
    peer = KubeletPeer(socket_dir)
    peer.start()
    try:
        request = next_item(peer.registrations, "registration once the kubelet is up", plugin)
        assert request.resource_name == "nvidia.com/gpu"
    finally:
        peer.stop()


def test_stops_cleanly_on_sigterm(kubelet: KubeletPeer, start_plugin, socket_dir: Path) -> None:
    plugin = start_plugin("--gpus", "2")
    endpoint = next_item(kubelet.registrations, "registration", plugin).endpoint
    assert plugin.stop() == 0, plugin.log()
    assert not (socket_dir / endpoint).exists()
    assert "stopped" in plugin.log()
