"""apps/compose.yaml end to end through the published web port (CPU override)."""

from __future__ import annotations

import subprocess
import time

import httpx
import pytest
import yaml

from docker2k8s import labkit

from .procs import APPS, read_sse

pytestmark = pytest.mark.docker


def chat(url: str, message: str, conversation_id: int | None = None) -> list[tuple[str, dict]]:
    body: dict = {"message": message}
    if conversation_id:
        body["conversation_id"] = conversation_id
    with httpx.stream("POST", f"{url}/api/chat", json=body, timeout=60) as r:
        assert r.status_code == 200, r.read()
        return read_sse(r)


def test_compose_file_mirrors_the_gpu_stack():
    spec = yaml.safe_load((APPS / "compose.yaml").read_text())
    s = spec["services"]
    devices = s["inference"]["deploy"]["resources"]["reservations"]["devices"]
    assert devices == [{"driver": "nvidia", "count": 1, "capabilities": ["gpu"]}]
    assert s["inference"]["shm_size"] and "model-data:/data" in s["inference"]["volumes"]
    assert s["db"]["restart"] == "always" and "db-data:/var/lib/mysql" in s["db"]["volumes"]
    assert s["chat"]["depends_on"]["db"]["condition"] == "service_healthy"
    assert all("healthcheck" in s[n] for n in ("chat", "inference", "db"))
    cpu = (APPS / "compose.cpu.yaml").read_text()
    assert "!reset" in cpu


def test_chat_through_the_published_port(compose_stack):
    url = compose_stack.web_url
    page = httpx.get(url)
    assert page.status_code == 200 and "docker2k8s chat" in page.text
    events = chat(url, "What is a pod?")
    kinds = [k for k, _ in events]
    assert kinds[0] == "meta" and kinds[-1] == "done" and kinds.count("token") >= 2
    replica = events[0][1]["replica"]
    inference_id = compose_stack.container("inference")
    assert inference_id.startswith(replica)  # the container's hostname is its short id
    conv = httpx.get(f"{url}/api/conversations/{events[0][1]['conversation_id']}").json()
    assert [m["role"] for m in conv["messages"]] == ["user", "assistant"]


def test_tokens_stream_through_nginx(compose_stack):
    arrivals = []
    with httpx.stream(
        "POST",
        f"{compose_stack.web_url}/api/chat",
        json={"message": "Tell me about deployments"},
        timeout=60,
    ) as r:
        for line in r.iter_lines():
            if line.startswith("event: token"):
                arrivals.append(time.monotonic())
    assert len(arrivals) >= 5
    # With proxy_buffering off, tokens arrive spread out (20 ms apart), not in one burst.
    assert arrivals[-1] - arrivals[0] > 0.05


def test_restarting_the_db_container_keeps_history(compose_stack):
    url = compose_stack.web_url
    events = chat(url, "Remember this: persistent volumes")
    conv_id = events[0][1]["conversation_id"]
    db = compose_stack.container("db")
    subprocess.run(["docker", "restart", db], check=True, capture_output=True, timeout=120)
    deadline = time.monotonic() + 120
    while True:
        r = httpx.get(f"{url}/api/conversations/{conv_id}", timeout=5)
        if r.status_code == 200:
            break
        assert time.monotonic() < deadline, f"history not back after db restart: {r.text}"
        time.sleep(1)
    messages = r.json()["messages"]
    assert messages[0]["content"] == "Remember this: persistent volumes"
    assert len(messages) == 2
    # And the stack still chats after the restart.
    assert chat(url, "Still there?", conv_id)[-1][0] == "done"


def test_inference_down_keeps_message_and_says_so(compose_stack):
    url = compose_stack.web_url
    compose_stack.run("stop", "inference")
    try:
        r = httpx.post(f"{url}/api/chat", json={"message": "Hello?"}, timeout=30)
        assert r.status_code == 503
        body = r.json()
        assert "Your message was saved" in body["detail"]
        conv = httpx.get(f"{url}/api/conversations/{body['conversation_id']}").json()
        assert conv["messages"][0]["content"] == "Hello?"
    finally:
        compose_stack.run("start", "inference")
        compose_stack.wait_healthy("inference")
        compose_stack.wait_healthy("chat")


def test_down_and_up_keeps_history_in_the_named_volume(compose_stack):
    """`compose down` removes the containers; the db-data volume (no -v) keeps the history."""
    url = compose_stack.web_url
    conv_id = chat(url, "Volumes outlive containers")[0][1]["conversation_id"]
    old_db = compose_stack.container("db")
    compose_stack.run("down")
    compose_stack.run("up", "-d")
    compose_stack.wait_ready()
    assert compose_stack.container("db") != old_db  # really a new container
    conv = httpx.get(f"{url}/api/conversations/{conv_id}").json()
    assert conv["messages"][0]["content"] == "Volumes outlive containers"


def test_labkit_chat_returns_the_reply_the_app_stored(compose_stack):
    done = labkit.chat(compose_stack.web_url, "What is a service?")
    conv = httpx.get(f"{compose_stack.web_url}/api/conversations/{done['conversation_id']}").json()
    assert conv["messages"][-1]["content"] == done["content"] != ""
    with pytest.raises(RuntimeError, match="answered 422"):
        labkit.chat(compose_stack.web_url, "   ")
