"""Run apps/compose.yaml with whichever Compose this machine has.

Compose v2 (`docker compose`) takes the documented CPU override, compose.cpu.yaml. Compose v1
(Debian's docker-compose 1.29) merges device lists and cannot drop the GPU reservation, so
for v1 the test writes a copy of compose.yaml without it (what the override means).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import yaml

from .procs import APPS, free_port


def compose_command() -> tuple[list[str], int]:
    """(command prefix, major version) of the available Compose; prefers v2."""
    if shutil.which("docker"):
        r = subprocess.run(
            ["docker", "compose", "version", "--short"], capture_output=True, text=True
        )
        if r.returncode == 0:
            return ["docker", "compose"], 2
    if shutil.which("docker-compose"):
        return ["docker-compose"], 1
    raise RuntimeError(
        "no Docker Compose found: install the Compose v2 plugin or Debian's "
        "docker-compose (apt-get install docker-compose)"
    )


def cpu_files(tmp: Path, version: int) -> list[str]:
    if version >= 2:
        return ["-f", str(APPS / "compose.yaml"), "-f", str(APPS / "compose.cpu.yaml")]
    spec = yaml.safe_load((APPS / "compose.yaml").read_text())
    del spec["services"]["inference"]["deploy"]["resources"]["reservations"]["devices"]
    variant = tmp / "compose.cpu-v1.yaml"
    variant.write_text(yaml.safe_dump(spec, sort_keys=False))
    return ["-f", str(variant), "--project-directory", str(APPS)]


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
        deadline = time.monotonic() + timeout
        last = ""
        while time.monotonic() < deadline:
            try:
                r = httpx.get(f"{self.web_url}/api/conversations", timeout=3)
                if r.status_code == 200:
                    return
                last = f"HTTP {r.status_code} {r.text[:200]}"
            except httpx.HTTPError as exc:
                last = repr(exc)
            time.sleep(1)
        raise TimeoutError(f"the stack did not answer at {self.web_url} ({last})\n{self.logs()}")


def start_stack(tmp: Path, project: str) -> Stack:
    import os

    subprocess.run([str(APPS / "secrets" / "create.sh")], check=True, capture_output=True)
    cmd, version = compose_command()
    port = free_port()
    env = os.environ | {"WEB_PORT": str(port)}
    stack = Stack(
        project, [*cmd, "-p", project, *cpu_files(tmp, version)], f"http://127.0.0.1:{port}", env
    )
    try:
        stack.run("up", "-d")
        stack.wait_ready()
    except BaseException:
        print(stack.logs())
        stack.run("down", "-v", "--remove-orphans", check=False)
        raise
    return stack
