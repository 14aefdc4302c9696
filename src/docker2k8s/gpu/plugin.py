"""The simulated NVIDIA device plugin: serve DevicePlugin, register with the kubelet, stay so.

Lifecycle, as the kubelet's device manager expects it:
1. serve the DevicePlugin service on <plugin dir>/nvidia-gpu.sock;
2. call Registration.Register on <plugin dir>/kubelet.sock with our socket name and resource name;
3. the kubelet opens ListAndWatch to learn the devices, and calls Allocate for each container;
4. a restarting kubelet wipes the directory and creates a new kubelet.sock: start again at 1.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc

from docker2k8s.gpu import api
from docker2k8s.gpu.config import PluginConfig
from docker2k8s.gpu.devices import gpu_ids, node_labels
from docker2k8s.gpu.node_labels import label_in_background
from docker2k8s.gpu.socket_watch import DirectoryWatch, FileIdentity, identity

log = logging.getLogger("docker2k8s.gpu")

# NVIDIA's plugin names the variable after the "envvar" device-list strategy; the NVIDIA container
# runtime reads it to decide which GPUs to expose in the container.
VISIBLE_DEVICES_ENV = "NVIDIA_VISIBLE_DEVICES"
REGISTER_TIMEOUT_S = 5.0


class GpuDevicePlugin:
    """The DevicePlugin service: one instance per served socket."""

    def __init__(self, config: PluginConfig) -> None:
        self.config = config
        self.device_ids = gpu_ids(config.node_name, config.gpu_count)
        self._health = dict.fromkeys(self.device_ids, api.HEALTHY)
        self._changed = threading.Condition()
        self._generation = 0
        self._stopping = threading.Event()
        self._api = api.load()

    def options(self) -> Any:
        return self._api.DevicePluginOptions(
            pre_start_required=self.config.pre_start_required,
            get_preferred_allocation_available=True,
        )

    def mark_unhealthy(self, unhealthy: set[str]) -> None:
        """Make exactly `unhealthy` Unhealthy; if anything changed, the kubelet gets a new list."""
        with self._changed:
            changed = False
            for index, device_id in enumerate(self.device_ids):
                health = api.UNHEALTHY if device_id in unhealthy else api.HEALTHY
                if self._health[device_id] != health:
                    log.info("GPU %d (%s) is now %s", index, device_id, health)
                    self._health[device_id] = health
                    changed = True
            if changed:
                self._generation += 1
                self._changed.notify_all()

    def stop(self) -> None:
        self._stopping.set()
        with self._changed:
            self._changed.notify_all()

    # -- RPCs (names fixed by the v1beta1 contract) --------------------------------------------

    def GetDevicePluginOptions(self, request: Any, context: grpc.ServicerContext) -> Any:
        return self.options()

    def ListAndWatch(self, request: Any, context: grpc.ServicerContext) -> Iterator[Any]:
        sent = -1
        log.info("ListAndWatch: kubelet is watching %d devices", len(self.device_ids))
        while context.is_active() and not self._stopping.is_set():
            with self._changed:
                if sent == self._generation:
                    self._changed.wait(timeout=1.0)
                    continue
                sent = self._generation
                devices = [
                    self._api.Device(ID=device_id, health=health)
                    for device_id, health in self._health.items()
                ]
            healthy = sum(d.health == api.HEALTHY for d in devices)
            log.info("ListAndWatch: sending %d devices (%d healthy)", len(devices), healthy)
            yield self._api.ListAndWatchResponse(devices=devices)

    def GetPreferredAllocation(self, request: Any, context: grpc.ServicerContext) -> Any:
        # Prefer the lowest-numbered GPUs, as a real node prefers GPUs that share a switch.
        rank = {device_id: i for i, device_id in enumerate(self.device_ids)}
        responses = []
        for req in request.container_requests:
            chosen = list(req.must_include_deviceIDs)
            rest = sorted(
                (d for d in req.available_deviceIDs if d not in chosen),
                key=lambda d: rank.get(d, len(rank)),
            )
            chosen += rest[: max(req.allocation_size - len(chosen), 0)]
            responses.append(self._api.ContainerPreferredAllocationResponse(deviceIDs=chosen))
        return self._api.PreferredAllocationResponse(container_responses=responses)

    def Allocate(self, request: Any, context: grpc.ServicerContext) -> Any:
        responses = []
        for index, req in enumerate(request.container_requests):
            unknown = [d for d in req.devices_ids if d not in self._health]
            if unknown:
                resource = self.config.resource_name
                message = f"unknown device(s) {', '.join(unknown)} for resource {resource}"
                log.error("Allocate refused: %s", message)
                context.abort(grpc.StatusCode.INVALID_ARGUMENT, message)
            ids = ",".join(req.devices_ids)
            log.info("Allocate: container %d gets %s=%s", index, VISIBLE_DEVICES_ENV, ids)
            responses.append(self._api.ContainerAllocateResponse(envs={VISIBLE_DEVICES_ENV: ids}))
        return self._api.AllocateResponse(container_responses=responses)

    def PreStartContainer(self, request: Any, context: grpc.ServicerContext) -> Any:
        log.info("PreStartContainer: %s", ", ".join(request.devices_ids))
        return self._api.PreStartContainerResponse()


class UnhealthyFile:
    """The simulated failures: a file naming GPUs by index or ID, read again when it changes."""

    def __init__(self, path: Path | None, device_ids: list[str]) -> None:
        self.path = path
        self.device_ids = device_ids
        self._last_text: str | None = None
        self._unhealthy: set[str] = set()

    def read(self) -> set[str]:
        if self.path is None:
            return set()
        try:
            text = self.path.read_text()
        except FileNotFoundError:
            text = ""
        except OSError as error:
            log.warning("cannot read %s: %s", self.path, error)
            return self._unhealthy
        if text != self._last_text:
            self._last_text = text
            self._unhealthy = set()
            for token in text.split():
                if token.isdigit() and int(token) < len(self.device_ids):
                    self._unhealthy.add(self.device_ids[int(token)])
                elif token in self.device_ids:
                    self._unhealthy.add(token)
                else:
                    log.warning(
                        "%s: %r is neither a GPU index (0-%d) nor a GPU ID of this node; ignored",
                        self.path,
                        token,
                        len(self.device_ids) - 1,
                    )
        return self._unhealthy


class PluginServer:
    """One gRPC server on the plugin socket, with the servicer behind it."""

    def __init__(self, config: PluginConfig) -> None:
        self.config = config
        self.servicer = GpuDevicePlugin(config)
        self._server = grpc.server(futures.ThreadPoolExecutor(max_workers=8))
        self._server.add_generic_rpc_handlers((api.service_handler("DevicePlugin", self.servicer),))

    def start(self) -> None:
        path = self.config.socket_path
        path.parent.mkdir(parents=True, exist_ok=True)
        path.unlink(missing_ok=True)  # a stale socket from a previous run would make bind fail
        if self._server.add_insecure_port(api.unix_target(path)) == 0:
            raise OSError(f"cannot listen on {path}")
        self._server.start()
        log.info("serving DevicePlugin on %s", path)

    def stop(self) -> None:
        self.servicer.stop()
        self._server.stop(grace=1.0).wait()
        self.config.socket_path.unlink(missing_ok=True)


def register(config: PluginConfig, servicer: GpuDevicePlugin) -> None:
    """Call Registration.Register on the kubelet; raises grpc.RpcError if it refuses or is down."""
    request = api.load().RegisterRequest(
        version=api.VERSION,
        endpoint=config.socket_name,
        resource_name=config.resource_name,
        options=servicer.options(),
    )
    with grpc.insecure_channel(api.unix_target(config.kubelet_socket)) as channel:
        api.client(channel, "Registration").Register(request, timeout=REGISTER_TIMEOUT_S)
    log.info(
        "registered %s (%d devices) with the kubelet at %s, endpoint %s",
        config.resource_name,
        config.gpu_count,
        config.kubelet_socket,
        config.socket_name,
    )


def run(config: PluginConfig, stop: threading.Event, poll_s: float = 1.0) -> None:
    """Serve and keep registered until `stop` is set."""
    api.load()  # compile the .proto now, so a missing compiler fails before anything is served
    device_ids = gpu_ids(config.node_name, config.gpu_count)
    log.info(
        "simulated %d x %s (%d MiB) on node %s; IDs %s",
        config.gpu_count,
        config.model.product,
        config.model.memory_mib,
        config.node_name,
        ", ".join(device_ids),
    )
    if config.label_node:
        label_in_background(config.node_name, node_labels(config.model, config.gpu_count), stop)
    config.plugin_dir.mkdir(parents=True, exist_ok=True)
    watch = DirectoryWatch(config.plugin_dir)
    server: PluginServer | None = None
    registered_with: FileIdentity | None = None
    waiting_logged = False
    failures = UnhealthyFile(config.unhealthy_file, device_ids)
    try:
        while not stop.is_set():
            kubelet = identity(config.kubelet_socket)
            own_socket_gone = server is not None and identity(config.socket_path) is None
            kubelet_new = kubelet is not None and kubelet != registered_with
            if server is None or own_socket_gone or (kubelet_new and registered_with is not None):
                # First start, or the kubelet restarted (it deletes our socket): serve afresh.
                if server is not None:
                    why = "plugin socket removed" if own_socket_gone else "kubelet.sock re-created"
                    log.info("restarting the plugin server: %s", why)
                    server.stop()
                server = PluginServer(config)
                server.start()
                registered_with = None
            server.servicer.mark_unhealthy(failures.read())
            if kubelet is None:
                if not waiting_logged:
                    log.info("waiting for the kubelet socket %s", config.kubelet_socket)
                    waiting_logged = True
            elif registered_with is None:
                try:
                    register(config, server.servicer)
                    registered_with = kubelet
                    waiting_logged = False
                except grpc.RpcError as error:
                    log.warning(
                        "registration with %s failed: %s; retrying",
                        config.kubelet_socket,
                        error.details() if hasattr(error, "details") else error,
                    )
                    stop.wait(2.0)
                    continue
            watch.wait(poll_s)
    finally:
        watch.close()
        if server is not None:
            server.stop()
        log.info("stopped")
