"""The lab kit, on real processes, a real HTTP server and the real cluster."""

from __future__ import annotations

import json
import subprocess
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import ClassVar

import pytest

from docker2k8s import labkit
from docker2k8s.grading import kube


def test_run_returns_output_and_raises_with_the_commands_message():
    assert labkit.run("echo hello") == "hello\n"
    assert labkit.run("cat", stdin="through stdin") == "through stdin"
    with pytest.raises(RuntimeError, match="no-such-file"):
        labkit.run("ls /no-such-file")


def test_free_port_is_free():
    import socket

    port = labkit.free_port()
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", port))


class _Slow(BaseHTTPRequestHandler):
    """503 for the first half second, then 200 with JSON: a model that loads."""

    began = time.monotonic()

    def do_GET(self) -> None:
        ready = time.monotonic() - self.began > 0.5
        body = json.dumps({"ready": ready}).encode()
        self.send_response(200 if ready else 503)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def slow_server() -> Iterator[str]:
    _Slow.began = time.monotonic()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Slow)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()


def test_wait_for_http_waits_through_503(slow_server):
    assert labkit.http_json(slow_server) == {"ready": False}  # the body of an error answer
    labkit.wait_for_http(slow_server, timeout=10)
    assert labkit.http_json(slow_server) == {"ready": True}


def test_wait_for_http_gives_up_with_the_last_error(free_port):
    with pytest.raises(TimeoutError, match="did not answer in 1 s"):
        labkit.wait_for_http(f"http://127.0.0.1:{free_port()}/", timeout=1)


class _Rollout(BaseHTTPRequestHandler):
    """POST /api/chat: a 502 first (a proxy whose chat Pod stopped), then the app's event stream."""

    posts: ClassVar[list[dict]] = []

    def do_POST(self) -> None:
        _Rollout.posts.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        if len(_Rollout.posts) == 1:
            self.send_error(502)
            return
        done = {"conversation_id": 7, "content": "a Pod", "replica": "inference-a"}
        body = f"event: done\ndata: {json.dumps(done)}\n\n".encode()
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args: object) -> None:
        pass


def test_chat_sends_again_after_a_502_as_a_user_would(capsys):
    _Rollout.posts = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Rollout)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        done = labkit.chat(f"http://127.0.0.1:{server.server_port}", "What is a pod?")
    finally:
        server.shutdown()
    assert done["content"] == "a Pod" and _Rollout.posts == [{"message": "What is a pod?"}] * 2
    assert "answered 502" in capsys.readouterr().out  # the learner sees why it took longer


def test_chat_gives_up_on_an_address_nothing_answers(free_port):
    with pytest.raises(RuntimeError, match="is not reachable"):
        labkit.chat(f"http://127.0.0.1:{free_port()}", "hello", patience=1)


REFUSED = {
    "misspelt": (
        "kind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: a\n    imge: x\n",
        "a field name is misspelt",
    ),
    "tab": (
        "kind: Pod\nmetadata: {name: a}\nspec:\n\tcontainers: []\n",
        "the file is not valid YAML",
    ),
    "empty": ("# YOUR YAML HERE\n", "holds no object yet"),
    "number": ("kind: ConfigMap\nmetadata: {name: a}\ndata:\n  X: 60\n", 'quote it, "60"'),
    "missing": (
        "kind: Pod\nmetadata: {name: a}\nspec:\n  containers:\n  - name: a\n",
        "a required field is missing",
    ),
}


@pytest.fixture
def namespace() -> Iterator[str]:
    name = f"labkit-{uuid.uuid4().hex[:6]}"
    subprocess.run(["kubectl", "create", "namespace", name], check=True, capture_output=True)
    yield name
    subprocess.run(["kubectl", "delete", "namespace", name, "--wait=false"], capture_output=True)


@pytest.mark.cluster
def test_apply_explains_what_the_api_server_refused(namespace, tmp_path):
    for case, (body, hint) in REFUSED.items():
        path = tmp_path / f"{case}.yaml"
        path.write_text(("apiVersion: v1\n" if "kind" in body else "") + body)
        with pytest.raises(labkit.ManifestRejected, match="was refused") as refused:
            labkit.apply(path, namespace)
        assert "\nhint: " in str(refused.value) and hint in str(refused.value), case
    path = tmp_path / "ok.yaml"
    path.write_text("apiVersion: v1\nkind: ConfigMap\nmetadata: {name: ok}\ndata: {X: '60'}\n")
    assert "configmap/ok created" in labkit.apply(path, namespace)


@pytest.mark.cluster
def test_apply_takes_a_kustomization_folder(namespace, tmp_path):
    base, overlay = tmp_path / "base", tmp_path / "overlay"
    base.mkdir()
    overlay.mkdir()
    (base / "config.yaml").write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: settings}\ndata: {SIZE: '1Gi'}\n"
    )
    (base / "kustomization.yaml").write_text("resources: [config.yaml]\n")
    (overlay / "kustomization.yaml").write_text(
        "resources: [../base]\n"
        "patches:\n"
        "  - patch: |\n"
        "      {apiVersion: v1, kind: ConfigMap, metadata: {name: settings}, data: {SIZE: 2Gi}}\n"
    )
    assert "configmap/settings created" in labkit.apply(overlay, namespace)
    assert kube.get("ConfigMap", "settings", namespace)["data"] == {"SIZE": "2Gi"}
    (overlay / "kustomization.yaml").write_text("resources: [../missing]\n")
    with pytest.raises(labkit.ManifestRejected, match=r"apply -k .* was refused") as refused:
        labkit.apply(overlay, namespace)
    assert "hint: kustomize could not read an entry of `resources:`" in str(refused.value)


@pytest.mark.cluster
def test_wait_for_log_names_the_pod_that_printed_it(namespace, tmp_path):
    manifest = tmp_path / "steps.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: Pod\nmetadata: {name: steps, labels: {app: steps}}\n"
        "spec:\n  restartPolicy: Never\n  terminationGracePeriodSeconds: 0\n  containers:\n"
        "    - name: steps\n      image: docker2k8s/inference:0.1.0\n"
        "      imagePullPolicy: IfNotPresent\n      command: [sh, -c]\n"
        "      args: ['for i in 1 2 3; do echo step $i; sleep 1; done; sleep 60']\n"
        "      resources: {requests: {cpu: 10m, memory: 16Mi}}\n"
    )
    labkit.apply(manifest, namespace)
    assert labkit.wait_for_log("app=steps", "step 3", namespace, timeout=90) == "steps"
    with pytest.raises(TimeoutError, match=r"printed 'step 9'; last: step 1\nstep 2\nstep 3"):
        labkit.wait_for_log("app=steps", "step 9", namespace, timeout=2)
