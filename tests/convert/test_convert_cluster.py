"""Every golden output and the converted course stack, sent to the real API server as a
server-side dry run: admission and validation beyond the JSON schemas, nothing persisted."""

import json
import secrets
import subprocess
import time
from collections.abc import Callable
from functools import cache
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from convert_checks import GOLDEN, course_stack

from docker2k8s import cluster
from docker2k8s.convert import Options, convert_compose, to_yaml


@cache
def _kubeconfig() -> Path:
    path = cluster.current().kubeconfig()
    assert path.exists(), f"no cluster kubeconfig at {path}: start the cluster with d2k cluster up"
    ready = subprocess.run(
        ["kubectl", "--kubeconfig", str(path), "get", "--raw", "/readyz"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert ready.returncode == 0, (
        f"the cluster does not answer ({ready.stderr.strip()}): start it with d2k cluster up"
    )
    return path


def _dry_run(kubeconfig: Path, text: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["kubectl", "--kubeconfig", str(kubeconfig), "apply", "--dry-run=server",
         "--namespace", "default", "-f", "-"],
        input=text, capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.cluster
@pytest.mark.parametrize("golden", sorted(p.name for p in GOLDEN.glob("*.yaml")))
def test_golden_output_is_accepted_by_the_api_server(golden: str) -> None:
    objects = list(yaml.safe_load_all((GOLDEN / golden).read_text()))
    for obj in objects:  # a fixed nodePort may be taken by another test's Service right now
        for port in obj.get("spec", {}).get("ports", []) if obj["kind"] == "Service" else []:
            port.pop("nodePort", None)
    proc = _dry_run(_kubeconfig(), to_yaml(objects))
    assert proc.returncode == 0, f"{golden}: {proc.stderr}"
    assert "(server dry run)" in proc.stdout


@pytest.mark.cluster
def test_course_stack_is_accepted_by_the_api_server(tmp_path: Path) -> None:
    result = convert_compose(course_stack(tmp_path, "compose.yaml")[0], environ={})
    proc = _dry_run(_kubeconfig(), to_yaml(result.objects))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("(server dry run)") == len(result.objects)


@pytest.mark.cluster
def test_converted_course_stack_runs_and_the_chat_answers(
    tmp_path: Path, free_port: Callable[[], int]
) -> None:
    """apps/compose.yaml + compose.cpu.yaml converted, applied to a fresh namespace: every
    workload becomes ready (the converted probes pass, the init containers find their
    dependencies) and a chat message sent to the web Service streams an answer back."""
    kubeconfig = _kubeconfig()
    files = course_stack(tmp_path, "compose.yaml", "compose.cpu.yaml")
    # The app images have sh + python3, so the wait loop runs without pulling busybox.
    chat_image = next(
        c["image"]
        for o in convert_compose(files[0], environ={}).objects
        if o["kind"] == "Deployment" and o["metadata"]["name"] == "chat"
        for c in o["spec"]["template"]["spec"]["containers"]
    )
    result = convert_compose(files, Options(wait_image=chat_image), environ={})
    images = {
        c["image"]
        for o in result.objects
        if o["kind"] in ("Deployment", "StatefulSet")
        for c in o["spec"]["template"]["spec"]["containers"]
    }
    provider = cluster.current()
    for image in sorted(images):
        provider.load_image(image)  # fails with the fix when the image was never built

    namespace = f"d2k-convert-{secrets.token_hex(3)}"
    kubectl = ["kubectl", "--kubeconfig", str(kubeconfig), "--namespace", namespace]
    subprocess.run([*kubectl[:3], "create", "namespace", namespace], check=True, timeout=60)
    forward = None
    try:
        applied = subprocess.run(
            [*kubectl, "apply", "-f", "-"], input=to_yaml(result.objects),
            capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert applied.returncode == 0, applied.stderr
        for workload in ("statefulset/db", "deployment/inference", "deployment/chat",
                         "deployment/web"):  # fmt: skip
            rollout = subprocess.run(
                [*kubectl, "rollout", "status", workload, "--timeout=300s"],
                capture_output=True, text=True, timeout=330,
            )  # fmt: skip
            assert rollout.returncode == 0, f"{workload}: {rollout.stderr}\n{_describe(kubectl)}"
        port = free_port()
        forward = subprocess.Popen(
            [*kubectl, "port-forward", "svc/web", f"{port}:80"],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        )  # fmt: skip
        events = _chat(f"http://127.0.0.1:{port}", "What is a pod?")
        kinds = [kind for kind, _ in events]
        assert kinds[0] == "meta" and kinds[-1] == "done", kinds
        assert kinds.count("token") >= 2, kinds
    finally:
        if forward is not None:
            forward.terminate()
            forward.wait(timeout=10)
        subprocess.run(
            [*kubectl[:3], "delete", "namespace", namespace, "--wait=false"],
            capture_output=True, timeout=60,
        )  # fmt: skip


def _chat(url: str, message: str) -> list[tuple[str | None, Any]]:
    """POST /api/chat and read its server-sent events, retrying while port-forward starts."""
    deadline = time.monotonic() + 60
    while True:
        try:
            events: list[tuple[str | None, Any]] = []
            with httpx.stream("POST", f"{url}/api/chat", json={"message": message},
                              timeout=60) as response:  # fmt: skip
                assert response.status_code == 200, response.read()
                kind = None
                for line in response.iter_lines():
                    if line.startswith("event: "):
                        kind = line[7:]
                    elif line.startswith("data: "):
                        events.append((kind, json.loads(line[6:])))
            return events
        except httpx.TransportError:
            if time.monotonic() > deadline:
                raise
            time.sleep(1)


def _describe(kubectl: list[str]) -> str:
    pods = subprocess.run([*kubectl, "get", "pods", "-o", "wide"], capture_output=True,
                          text=True, timeout=60)  # fmt: skip
    events = subprocess.run([*kubectl, "get", "events", "--sort-by=.lastTimestamp"],
                            capture_output=True, text=True, timeout=60)  # fmt: skip
    return pods.stdout + events.stdout[-3000:]
