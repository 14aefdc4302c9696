"""The kubelet's side of the device-plugin protocol for tests: the other end of the wire, no mock.

It serves Registration on <dir>/kubelet.sock and, like the kubelet's device manager, answers each
Register by dialling the plugin's endpoint and keeping a ListAndWatch stream open. restart() behaves
like a restarting kubelet: it stops, empties the directory and serves a new kubelet.sock.
"""

from __future__ import annotations

import queue
import threading
from concurrent import futures
from pathlib import Path
from typing import Any

import grpc

from docker2k8s.gpu import api


class KubeletPeer:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.registrations: queue.Queue[Any] = queue.Queue()
        self.device_lists: queue.Queue[list[tuple[str, str]]] = queue.Queue()
        self._server: grpc.Server | None = None
        self._channels: list[grpc.Channel] = []

    @property
    def socket(self) -> Path:
        return self.directory / api.KUBELET_SOCKET_NAME

    def start(self) -> None:
        server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
        server.add_generic_rpc_handlers((api.service_handler("Registration", self),))
        assert server.add_insecure_port(api.unix_target(self.socket)) != 0
        server.start()
        self._server = server

    def stop(self) -> None:
        if self._server is not None:
            self._server.stop(grace=0).wait()
            self._server = None
        for channel in self._channels:
            channel.close()
        self._channels.clear()
        self.socket.unlink(missing_ok=True)

    def restart(self) -> None:
        """Like a kubelet restart: stop, remove every socket in the directory, serve again."""
        self.stop()
        for entry in self.directory.iterdir():
            entry.unlink()
        self.start()

    def plugin(self, endpoint: str) -> Any:
        """A DevicePlugin client on <dir>/<endpoint>, as the kubelet dials it."""
        channel = grpc.insecure_channel(api.unix_target(self.directory / endpoint))
        self._channels.append(channel)
        return api.client(channel, "DevicePlugin")

    # Registration service ---------------------------------------------------------------------

    def Register(self, request: Any, context: grpc.ServicerContext) -> Any:
        if request.version != api.VERSION:
            context.abort(
                grpc.StatusCode.INVALID_ARGUMENT, f"unsupported version {request.version}"
            )
        copy = api.load().RegisterRequest()
        copy.CopyFrom(request)
        self.registrations.put(copy)
        threading.Thread(target=self._watch, args=(request.endpoint,), daemon=True).start()
        return api.load().Empty()

    def _watch(self, endpoint: str) -> None:
        try:
            for response in self.plugin(endpoint).ListAndWatch(api.load().Empty()):
                self.device_lists.put([(d.ID, d.health) for d in response.devices])
        except grpc.RpcError:
            pass  # the stream ends when either side stops
