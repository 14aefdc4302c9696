"""The manifests of apps/k8s/ run the whole chat app on the workshop cluster, as the chapters say.

Needs `d2k cluster up` (kubeconfig context `docker2k8s`) with the GPU device plugin running and
the app images built (`d2k images build`); the images are loaded into the cluster here.
Everything happens in a namespace of its own, deleted at the end.
"""

from __future__ import annotations

import contextlib
import json
import re
import secrets
import socket
import subprocess
import time
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import httpx
import pytest
from polling import wait_for
from sse import sse_events

from docker2k8s import cluster as clusters
from docker2k8s.cluster import gobuild
from docker2k8s.cluster.local import LocalProvider
from docker2k8s.cluster.names import CONTEXT_NAME
from docker2k8s.images import APP_NAMES, image_refs
from docker2k8s.paths import REPO_ROOT

pytestmark = pytest.mark.cluster

K8S = REPO_ROOT / "apps" / "k8s"
IMAGES = image_refs(APP_NAMES)
# The order a reader applies them in (chapters 05-07); the Secret comes from kubectl create.
STACK = [
    "db-service.yaml",
    "db-statefulset.yaml",
    "model-cache-pvc.yaml",
    "inference-deployment-pvc.yaml",
    "inference-service.yaml",
    "chat-config.yaml",
    "chat-service.yaml",
    "chat-deployment.yaml",
    "web-deployment.yaml",
    "web-service.yaml",
]
ROLLOUTS = ["statefulset/db", "deployment/inference", "deployment/chat", "deployment/web"]


def kubectl(*args: str, timeout: float = 120, check: bool = True) -> str:
    result = subprocess.run(
        ["kubectl", "--context", CONTEXT_NAME, *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
    if check and result.returncode != 0:
        pytest.fail(f"kubectl {' '.join(args)} failed:\n{result.stderr or result.stdout}")
    return result.stdout


@pytest.fixture(scope="module")
def stack_cluster(d2k) -> None:
    """The cluster answers, advertises GPUs, and has the app images."""
    probe = subprocess.run(
        ["kubectl", "--context", CONTEXT_NAME, "get", "nodes", "-o", "json"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        error = probe.stderr.strip()
        pytest.fail(f"no cluster at context {CONTEXT_NAME!r} ({error}): d2k cluster up")
    nodes = json.loads(probe.stdout)["items"]
    if not any(int(n["status"]["allocatable"].get("nvidia.com/gpu", "0")) for n in nodes):
        pytest.fail(
            "no node advertises nvidia.com/gpu, so the inference Pods would stay Pending: "
            "start the simulated device plugin with `kubectl apply -f cluster/addons/gpu/`"
        )
    present = {
        name
        for n in nodes
        for i in n["status"].get("images") or []
        for name in i.get("names") or []
    }
    for image in IMAGES:
        if not any(name.endswith("/" + image) or name == image for name in present):
            result = d2k("images", "load", image)
            assert result.returncode == 0, (
                f"cannot load {image} into the cluster ({result.stderr.strip()}); "
                "build it with `d2k images build`"
            )


@pytest.fixture(scope="module")
def namespace(stack_cluster: None) -> Iterator[str]:
    name = f"d2k-course-{uuid.uuid4().hex[:6]}"
    kubectl("create", "namespace", name)
    yield name
    kubectl("delete", "namespace", name, "--wait=false", check=False)


@pytest.fixture(scope="module")
def stack(namespace: str) -> str:
    """The whole app from the manifests, with a Secret made the way chapter 07 shows."""
    kubectl(
        "create", "secret", "generic", "db-credentials", "-n", namespace,
        f"--from-literal=password={secrets.token_hex(16)}",
        f"--from-literal=root-password={secrets.token_hex(16)}",
    )  # fmt: skip
    files = [arg for name in STACK for arg in ("-f", str(K8S / name))]
    kubectl("apply", "-n", namespace, *files)
    for workload in ROLLOUTS:
        kubectl("rollout", "status", "-n", namespace, workload, "--timeout=300s", timeout=320)
    return namespace


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextlib.contextmanager
def port_forward(namespace: str, target: str, remote_port: int) -> Iterator[str]:
    """`kubectl port-forward TARGET PORT:REMOTE`, as chapter 05 shows; the local URL."""
    port = free_port()
    forward = subprocess.Popen(
        ["kubectl", "--context", CONTEXT_NAME, "port-forward", "-n", namespace, target,
         f"{port}:{remote_port}"],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )  # fmt: skip
    try:
        line = forward.stdout.readline() if forward.stdout else ""
        assert line.startswith("Forwarding from"), f"port-forward said: {line!r}"
        yield f"http://127.0.0.1:{port}"
    finally:
        forward.terminate()
        forward.wait(timeout=10)


@pytest.fixture
def web_url(stack: str) -> Iterator[str]:
    with port_forward(stack, "service/web", 80) as url:
        yield url


def inference_info(namespace: str, check: bool = True) -> dict | None:
    """GET /info from inside an inference Pod (the image has python3, not curl)."""
    script = "import urllib.request; print(urllib.request.urlopen('http://localhost/info').read().decode())"
    out = kubectl(
        "exec", "-n", namespace, "deploy/inference", "--", "python3", "-c", script, check=check
    )
    return json.loads(out) if out.strip() else None


def test_every_manifest_passes_a_server_side_dry_run(namespace: str) -> None:
    out = kubectl("apply", "--dry-run=server", "-n", namespace, "-f", str(K8S))
    assert len(out.splitlines()) == len(list(K8S.glob("*.yaml"))), out


def test_chat_answers_through_the_web_service(web_url: str) -> None:
    body = {"message": "What is a pod?"}
    with httpx.stream("POST", f"{web_url}/api/chat", json=body, timeout=60) as response:
        assert response.status_code == 200, response.read()
        events = sse_events(response.iter_lines())
    kinds = [k for k, _ in events]
    assert kinds[0] == "meta" and kinds[-1] == "done" and "token" in kinds, kinds
    # The replica that answered is a Pod of the inference Deployment (its hostname).
    assert events[0][1]["replica"].startswith("inference-"), events[0]


def test_inference_pod_has_a_gpu_and_a_1gib_dev_shm(stack: str) -> None:
    gpus = kubectl(
        "exec", "-n", stack, "deploy/inference", "--", "printenv", "NVIDIA_VISIBLE_DEVICES"
    )
    assert re.fullmatch(r"GPU-[0-9a-f-]{36}\n", gpus), gpus
    df = kubectl("exec", "-n", stack, "deploy/inference", "--", "df", "-k", "/dev/shm")
    size_kib = int(df.splitlines()[1].split()[1])
    assert size_kib == 1024 * 1024, df


def test_model_cache_survives_the_pod(stack: str) -> None:
    first = inference_info(stack)
    assert first is not None
    assert first["model_source"] in ("created", "loaded") and first["ready"], first
    kubectl("delete", "pod", "-n", stack, "-l", "app=inference", "--wait=true", timeout=120)
    kubectl("rollout", "status", "-n", stack, "deployment/inference", "--timeout=180s", timeout=200)

    def new_pod_info() -> dict | None:
        info = inference_info(stack, check=False)
        return info if info and info["hostname"] != first["hostname"] and info["ready"] else None

    second = wait_for("a new inference Pod serving", new_pod_info, timeout=120)
    assert second["model_source"] == "loaded", second  # type: ignore[index]


def test_each_claim_is_bound(stack: str) -> None:
    claims = json.loads(kubectl("get", "pvc", "-n", stack, "-o", "json"))["items"]
    phases = {c["metadata"]["name"]: c["status"]["phase"] for c in claims}
    assert phases == {"model-cache": "Bound", "data-db-0": "Bound"}, phases


def chat_as_the_page_does(web_url: str, message: str, conversation_id: int | None, on_token=None):
    """One chat message, sent again the way the page lets its user (the text is back in the
    box) while the server answers 503 without having stored it; its (event, data) pairs."""
    body = {"message": message, "conversation_id": conversation_id}
    deadline = time.monotonic() + 120
    while True:
        with httpx.stream("POST", f"{web_url}/api/chat", json=body, timeout=60) as response:
            if response.status_code == 200:
                return sse_events(response.iter_lines(), on_token)
            refusal = response.read()
        # 503 from chat, or 502 from nginx while no chat Pod is Ready (their readiness includes
        # the database): not stored, as the page reads it.
        answer = json.loads(refusal) if refusal.startswith(b"{") else {}
        assert "user_message_id" not in answer, f"stored but refused: {answer}"
        assert time.monotonic() < deadline, f"still refused after 120 s: {response.status_code}"
        time.sleep(2)


def test_killing_the_db_pod_during_a_conversation_loses_nothing(web_url: str, stack: str) -> None:
    """The db Pod is deleted twice while replies stream; every message and reply is stored."""

    def kill_db() -> None:
        kubectl("delete", "pod", "db-0", "-n", stack, "--grace-period=1", "--wait=false")

    asked = [f"Question {i} about pods ({secrets.token_hex(3)})?" for i in range(6)]
    conversation_id, replies = None, []
    for i, message in enumerate(asked):
        events = chat_as_the_page_does(
            web_url, message, conversation_id, kill_db if i in (1, 3) else None
        )
        done = events[-1]
        assert done[0] == "done" and done[1]["message_id"], f"message {i}: {events}"
        conversation_id = done[1]["conversation_id"]
        replies.append(done[1]["content"])
    kubectl("rollout", "status", "-n", stack, "statefulset/db", "--timeout=120s", timeout=130)
    stored = httpx.get(f"{web_url}/api/conversations/{conversation_id}", timeout=10).json()
    expected = [turn for pair in zip(asked, replies, strict=True) for turn in pair]
    assert [m["content"] for m in stored["messages"]] == expected


def kill_container(namespace: str, selector: str) -> str:
    """SIGKILL the first container of the Pod matching `selector`, as the kernel's OOM killer or
    a crash would (a signal from inside the container cannot kill its PID 1); the Pod's name."""
    provider = clusters.current()
    if not isinstance(provider, LocalProvider):
        pytest.skip(
            f"kills a container through the node's containerd; the cluster is {provider.name}"
        )
    pods = json.loads(kubectl("get", "pods", "-n", namespace, "-l", selector, "-o", "json"))
    pod = next(p for p in pods["items"] if not p["metadata"].get("deletionTimestamp"))
    container_id = pod["status"]["containerStatuses"][0]["containerID"].split("://")[-1]
    ctr = gobuild.CONTAINERD.binary("ctr")
    socket = str(provider.layout.containerd_socket)
    subprocess.run(
        [ctr, "--address", socket, "-n", "k8s.io", "task", "kill", "-s", "SIGKILL", container_id],
        check=True,
        capture_output=True,
    )
    return pod["metadata"]["name"]


def test_killing_the_inference_server_mid_reply_keeps_the_message(web_url: str, stack: str) -> None:
    """The inference container is killed while a reply streams: the stream says the answer was
    cut off and ends; the question is in the history; once the container is back, chat works."""
    # 200 ms a token: the reply still streams when the kill lands, however short it is.
    kubectl("set", "env", "-n", stack, "deployment/inference", "TOKEN_DELAY_MS=200")
    kubectl("rollout", "status", "-n", stack, "deployment/inference", "--timeout=180s", timeout=200)
    question = f"What is a node? ({secrets.token_hex(3)})"
    killed: list[str] = []
    events = chat_as_the_page_does(
        web_url, question, None, lambda: killed.append(kill_container(stack, "app=inference"))
    )
    errors = [data["detail"] for kind, data in events if kind == "error"]
    assert errors and "cut off" in errors[0], events
    assert events[-1][0] == "done", events
    conversation_id = events[-1][1]["conversation_id"]
    stored = httpx.get(f"{web_url}/api/conversations/{conversation_id}", timeout=10).json()
    assert stored["messages"][0]["content"] == question

    # The kubelet restarts the container (the same Pod); once chat reaches it through the
    # Service again, the next message is answered.
    def restarted() -> bool:
        pod = json.loads(kubectl("get", "pod", "-n", stack, killed[0], "-o", "json"))
        status = pod["status"]["containerStatuses"][0]
        return status["restartCount"] >= 1 and status["ready"]

    wait_for("the inference container restarted and Ready", restarted, timeout=120)
    health = (
        "import urllib.request; urllib.request.urlopen('http://inference:80/health', timeout=2)"
    )
    exec_in_chat = ["kubectl", "--context", CONTEXT_NAME, "exec", "-n", stack, "deploy/chat", "--"]
    wait_for(
        "chat reaching inference through its Service",
        lambda: (
            subprocess.run([*exec_in_chat, "python3", "-c", health], check=False).returncode == 0
        ),
        timeout=60,
    )
    again = chat_as_the_page_does(web_url, "And now?", conversation_id)
    assert [kind for kind, _ in again if kind == "error"] == [] and again[-1][1]["message_id"]


def test_inference_under_ten_times_its_concurrency_limit(stack: str) -> None:
    """40 requests at once at a server that takes 4: the rest get TGI's 429, none leaks its slot
    (the next request is served, the queue drains to 0), and health stays true (the Pod is Ready
    and was not restarted)."""
    limit, sent = 4, 40
    kubectl(
        "set", "env", "-n", stack, "deployment/inference",
        f"MAX_CONCURRENT_REQUESTS={limit}", "TOKEN_DELAY_MS=50",
    )  # fmt: skip
    kubectl("rollout", "status", "-n", stack, "deployment/inference", "--timeout=180s", timeout=200)
    body = {"inputs": "A pod", "parameters": {"max_new_tokens": 30, "stop": ["zzz"]}}

    # Threads, not asyncio.run: the session's Playwright browser keeps an event loop running.
    def burst(url: str) -> list[httpx.Response]:
        with httpx.Client(timeout=60) as client, ThreadPoolExecutor(sent) as pool:
            posts = [pool.submit(client.post, f"{url}/generate", json=body) for _ in range(sent)]
            return [post.result() for post in posts]

    with port_forward(stack, "deployment/inference", 80) as url:
        answers = burst(url)
        codes = [a.status_code for a in answers]
        assert set(codes) == {200, 429} and codes.count(200) >= limit, codes
        assert all(
            a.json() == {"error": "Model is overloaded", "error_type": "overloaded"}
            for a in answers
            if a.status_code == 429
        )
        after = httpx.post(f"{url}/generate", json=body, timeout=60)
        assert after.status_code == 200, "a slot leaked: the server refuses after the burst"
        metrics = httpx.get(f"{url}/metrics", timeout=10).text
        assert re.search(r"^tgi_queue_size 0$", metrics, re.M), metrics
        assert httpx.get(f"{url}/health", timeout=10).status_code == 200
    pod = json.loads(kubectl("get", "pods", "-n", stack, "-l", "app=inference", "-o", "json"))
    statuses = [
        p["status"]["containerStatuses"][0]
        for p in pod["items"]
        if not p["metadata"].get("deletionTimestamp")
    ]
    assert all(s["ready"] and s["restartCount"] == 0 for s in statuses), statuses
