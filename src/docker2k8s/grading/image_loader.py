"""The one privileged step a graded kernel may ask the grader for: loading a local image into the
cluster (lab 04 tags a new version and loads it, as `kind load docker-image` does).

Loading writes into the node's containerd, which only root reaches; the sandboxed kernel has
Docker's socket but not that. So while a lab that uses Docker is graded, the grader listens on a
Unix socket in the workspace, and `d2k images load` in the kernel (which finds the socket in
D2K_IMAGE_LOADER) sends it image names, one per line; the grader loads each one that is an image
in Docker, and answers `ok` or the error.
"""

from __future__ import annotations

import contextlib
import os
import socket
import socketserver
import subprocess
import threading
from collections.abc import Iterator
from pathlib import Path

from docker2k8s.errors import D2KError

LOADER_ENV = "D2K_IMAGE_LOADER"


class _Loads(socketserver.StreamRequestHandler):
    def handle(self) -> None:
        from docker2k8s import cluster

        ref = self.rfile.readline(1024).decode(errors="replace").strip()
        try:
            known = subprocess.run(["docker", "image", "inspect", "--", ref], capture_output=True)
            if known.returncode != 0:
                raise D2KError(f"no image {ref!r} in Docker", fix="docker images; docker tag")
            cluster.current().load_image(ref)
            answer = "ok"
        except Exception as error:  # every failure goes back to the kernel, the grader goes on
            answer = f"error: {error}"
        self.wfile.write(answer.encode() + b"\n")


@contextlib.contextmanager
def serving(path: Path, owner: tuple[int, int] | None) -> Iterator[str]:
    """Serve loads at `path` (owned by `owner`, uid and gid) within the block; its path."""
    server = socketserver.ThreadingUnixStreamServer(str(path), _Loads)
    if owner:
        os.chown(path, *owner)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield str(path)
    finally:
        server.shutdown()
        server.server_close()
        path.unlink(missing_ok=True)


def load_through(path: str, ref: str, timeout: float = 600) -> None:
    """Ask the grader at `path` to load `ref`; D2KError with its answer if it could not."""
    with socket.socket(socket.AF_UNIX) as connection:
        connection.settimeout(timeout)
        connection.connect(path)
        connection.sendall(ref.encode() + b"\n")
        answer = connection.makefile().readline().strip()
    if answer != "ok":
        raise D2KError(f"the grader could not load {ref}: {answer}", fix="docker images")
