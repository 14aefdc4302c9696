"""Run apps/compose.yaml on a machine without GPUs: Compose v2 with the documented CPU override,
compose.cpu.yaml (`d2k setup` builds Compose v2 where it is missing)."""

from __future__ import annotations

import os
import subprocess
import time
from dataclasses import dataclass, field

from docker2k8s.compose_plugin import compose_version

from .procs import APPS, free_port, wait_http

CPU_FILES = ["-f", str(APPS / "compose.yaml"), "-f", str(APPS / "compose.cpu.yaml")]


def compose_command() -> list[str]:
    if compose_version() is None:
        raise RuntimeError("`docker compose` (v2) does not work; fix: d2k setup")
    return ["docker", "compose"]


@dataclass
class Stack:
    project: str
    base: list[str]
    web_url: str
    env: dict = field(default_factory=dict)

    def run(
        self, *args: str, check: bool = True, timeout: float = 600
    ) -> subprocess.CompletedProcess:
        r = subprocess.run(
            [*self.base, *args], capture_output=True, text=True, env=self.env, timeout=timeout
        )
        if check and r.returncode != 0:
            raise RuntimeError(
                f"{' '.join(self.base[-4:])} {' '.join(args)} failed:\n"
                f"{r.stdout[-2000:]}\n{r.stderr[-3000:]}"
            )
        return r

    def container(self, service: str) -> str:
        return self.run("ps", "-q", service).stdout.strip()

    def wait_healthy(self, service: str, timeout: float = 120) -> None:
        """Until Docker reports the service's container healthy (its HEALTHCHECK passes)."""
        deadline = time.monotonic() + timeout
        state = ""
        while time.monotonic() < deadline:
            cid = self.container(service)
            if cid:
                state = subprocess.run(
                    ["docker", "inspect", "-f", "{{.State.Health.Status}}", cid],
                    capture_output=True,
                    text=True,
                ).stdout.strip()
                if state == "healthy":
                    return
            time.sleep(0.5)
        raise TimeoutError(f"{service} not healthy after {timeout}s (last: {state})")

    def logs(self) -> str:
        return self.run("logs", "--no-color", check=False).stdout[-8000:]

    def wait_ready(self, timeout: float = 240) -> None:
        """Until the chat API answers through the published web port."""
        try:
            wait_http(f"{self.web_url}/api/conversations", timeout)
        except TimeoutError as exc:
            raise TimeoutError(f"the stack is not ready: {exc}\n{self.logs()}") from None


def start_stack(project: str) -> Stack:
    subprocess.run([str(APPS / "secrets" / "create.sh")], check=True, capture_output=True)
    port = free_port()
    env = os.environ | {"WEB_PORT": str(port)}
    stack = Stack(
        project, [*compose_command(), "-p", project, *CPU_FILES], f"http://127.0.0.1:{port}", env
    )
    try:
        stack.run("up", "-d")
        stack.wait_ready()
    except BaseException:
        print(stack.logs())
        stack.run("down", "-v", "--remove-orphans", check=False)
        raise
    return stack
