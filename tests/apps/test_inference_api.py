"""TGI API conformance of apps/inference, run as a real server process on loopback."""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path

import httpx
import pytest

from .procs import start_inference, wait_http


@pytest.fixture(scope="module")
def inference(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("inference")
    server, url = start_inference(
        tmp,
        "--max-concurrent-requests",
        "3",
        "--max-input-tokens",
        "50",
        "--max-total-tokens",
        "80",
        token_delay_ms=5,
    )
    try:
        wait_http(f"{url}/health", proc=server.proc)
        yield url, server
    finally:
        server.stop()


def sse_events(text: str) -> list[str]:
    """The data of each server-sent event; TGI writes `data:{json}` blocks separated by a blank
    line."""
    events = []
    for block in text.split("\n\n"):
        if block.strip():
            assert block.startswith("data:"), block
            events.append(block[len("data:") :].strip())
    return events


def test_generate_shape_and_details(inference):
    url, _ = inference
    r = httpx.post(
        f"{url}/generate",
        json={"inputs": "What is a pod?", "parameters": {"max_new_tokens": 12, "details": True}},
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert isinstance(body["generated_text"], str) and body["generated_text"]
    d = body["details"]
    assert d["finish_reason"] in ("length", "eos_token", "stop_sequence")
    assert d["generated_tokens"] == len(d["tokens"]) <= 12
    assert "".join(t["text"] for t in d["tokens"]) == body["generated_text"]
    for t in d["tokens"]:
        assert set(t) == {"id", "text", "logprob", "special"}
    assert r.headers["x-generated-tokens"] == str(d["generated_tokens"])
    # Without details: only generated_text, like TGI.
    r2 = httpx.post(
        f"{url}/generate", json={"inputs": "What is a pod?", "parameters": {"max_new_tokens": 12}}
    )
    assert set(r2.json()) == {"generated_text"}
    assert r2.json()["generated_text"] == body["generated_text"]  # greedy is deterministic


def test_seeded_sampling_is_deterministic(inference):
    url, _ = inference

    def run(seed: int) -> str:
        return httpx.post(
            f"{url}/generate",
            json={
                "inputs": "Tell me about services",
                "parameters": {
                    "do_sample": True,
                    "seed": seed,
                    "max_new_tokens": 30,
                    "temperature": 0.9,
                },
            },
        ).json()["generated_text"]

    assert run(7) == run(7)
    outputs = {run(s) for s in range(1, 8)}
    assert len(outputs) > 1, "different seeds should give different samples"


def test_stop_sequence_and_full_text(inference):
    url, _ = inference
    r = httpx.post(
        f"{url}/generate",
        json={
            "inputs": "A deployment keeps",
            "parameters": {
                "max_new_tokens": 40,
                "stop": [" pods"],
                "details": True,
                "return_full_text": True,
            },
        },
    )
    body = r.json()
    assert body["details"]["finish_reason"] == "stop_sequence"
    assert body["generated_text"].startswith("A deployment keeps")
    assert body["generated_text"].endswith(" pods")


def test_generate_stream_format(inference):
    url, _ = inference
    with httpx.stream(
        "POST",
        f"{url}/generate_stream",
        json={"inputs": "What is a service?", "parameters": {"max_new_tokens": 10}},
    ) as r:
        assert r.status_code == 200
        assert r.headers["content-type"].startswith("text/event-stream")
        text = r.read().decode()
    events = [json.loads(e) for e in sse_events(text)]
    assert 1 <= len(events) <= 10
    assert [e["index"] for e in events] == list(range(1, len(events) + 1))
    for e in events[:-1]:
        assert e["generated_text"] is None and e["details"] is None
        assert set(e["token"]) == {"id", "text", "logprob", "special"}
    last = events[-1]
    assert last["generated_text"] == "".join(e["token"]["text"] for e in events)
    assert last["details"]["generated_tokens"] == len(events)
    assert last["details"]["finish_reason"] in ("length", "eos_token")
    assert last["details"]["input_length"] == 5


def test_stream_arrives_token_by_token(tmp_path: Path):
    server, url = start_inference(tmp_path, token_delay_ms=100)
    try:
        wait_http(f"{url}/health", proc=server.proc)
        arrivals = []
        with httpx.stream(
            "POST",
            f"{url}/generate_stream",
            json={"inputs": "A pod", "parameters": {"max_new_tokens": 5}},
        ) as r:
            for line in r.iter_lines():
                if line.startswith("data:"):
                    arrivals.append(time.monotonic())
        assert len(arrivals) == 5
        # Each token is flushed when made, not buffered until the end.
        assert arrivals[-1] - arrivals[0] > 0.3
    finally:
        server.stop()


def test_chat_completions(inference):
    url, _ = inference
    msgs = [
        {"role": "system", "content": "You are helpful."},
        {"role": "user", "content": "Tell me about GPUs"},
    ]
    r = httpx.post(
        f"{url}/v1/chat/completions", json={"messages": msgs, "seed": 1, "max_tokens": 20}
    )
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["object"] == "chat.completion"
    choice = body["choices"][0]
    assert choice["message"]["role"] == "assistant" and choice["message"]["content"]
    assert choice["finish_reason"] in ("stop", "length")
    u = body["usage"]
    assert u["total_tokens"] == u["prompt_tokens"] + u["completion_tokens"]
    with httpx.stream(
        "POST",
        f"{url}/v1/chat/completions",
        json={"messages": msgs, "seed": 1, "max_tokens": 20, "stream": True},
    ) as r:
        events = sse_events(r.read().decode())
    assert events[-1] == "[DONE]"
    chunks = [json.loads(e) for e in events[:-1]]
    assert all(c["object"] == "chat.completion.chunk" for c in chunks)
    assert (
        "".join(c["choices"][0]["delta"]["content"] for c in chunks) == choice["message"]["content"]
    )
    assert chunks[-1]["choices"][0]["finish_reason"] == choice["finish_reason"]
    assert all(c["choices"][0]["finish_reason"] is None for c in chunks[:-1])


@pytest.mark.parametrize(
    ("payload", "fragment"),
    [
        (
            {"inputs": "x", "parameters": {"temperature": 0}},
            "`temperature` must be strictly positive",
        ),
        ({"inputs": "x", "parameters": {"top_p": 1.5}}, "`top_p`"),
        ({"inputs": "x", "parameters": {"max_new_tokens": 0}}, "`max_new_tokens`"),
        ({"inputs": "word " * 60}, "`inputs` must have less than 50 tokens. Given: 60"),
        (
            {"inputs": "word " * 40, "parameters": {"max_new_tokens": 41}},
            "`inputs` tokens + `max_new_tokens` must be <= 80",
        ),
        ({"inputs": "x", "parameters": {"stop": ["a", "b", "c", "d", "e"]}}, "up to 4 stop"),
        ({"inputs": ""}, "`inputs` cannot be empty"),
        ({"parameters": {}}, "`inputs` is required"),
    ],
)
@pytest.mark.parametrize("route", ["/generate", "/generate_stream"])
def test_validation_errors_are_422(inference, route, payload, fragment):
    url, _ = inference
    r = httpx.post(f"{url}{route}", json=payload)
    assert r.status_code == 422
    body = r.json()
    assert body["error_type"] == "validation"
    assert fragment in body["error"]


def test_malformed_json_is_422(inference):
    url, _ = inference
    r = httpx.post(
        f"{url}/generate", content=b"{not json", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422 and r.json()["error_type"] == "validation"


MALFORMED = [
    {"messages": [{"role": "user", "content": [{"text": 1}]}]},  # a number where text goes
    {"messages": [{"role": "user", "content": [{"text": ["a"]}]}]},
    {"messages": "hello"},
    {"messages": [None]},
]


def test_malformed_requests_get_422_and_free_their_slot(inference):
    """More malformed requests than --max-concurrent-requests (3): each is refused with 422 and
    gives its slot back, so a good request still gets through (no 429 forever)."""
    url, _ = inference
    deep = b'{"inputs": ' + b"[" * 100_000 + b"]" * 100_000 + b"}"
    for _ in range(3):
        for body in MALFORMED:
            r = httpx.post(f"{url}/v1/chat/completions", json=body, timeout=10)
            assert r.status_code == 422 and r.json()["error_type"] == "validation", r.text
        r = httpx.post(
            f"{url}/generate",
            content=deep,
            timeout=10,
            headers={"content-type": "application/json"},
        )
        assert r.status_code == 422, r.text
    r = httpx.post(f"{url}/generate", json={"inputs": "A pod", "parameters": {"max_new_tokens": 2}})
    assert r.status_code == 200, r.text


def test_a_body_over_the_payload_limit_gets_413(inference):
    url, _ = inference
    prompt = "word " * 500_000  # 2.5 MB, over TGI's default limit of 2,000,000 bytes
    r = httpx.post(f"{url}/generate", json={"inputs": prompt}, timeout=10)
    assert r.status_code == 413 and "Payload too large" in r.json()["error"]

    def chunks():  # no Content-Length: the limit holds while reading
        for _ in range(30):
            yield b" " * 100_000

    r = httpx.post(f"{url}/generate", content=chunks(), timeout=10)
    assert r.status_code == 413
    r = httpx.post(f"{url}/generate", json={"inputs": "A pod", "parameters": {"max_new_tokens": 2}})
    assert r.status_code == 200, r.text


def test_overload_gives_429_and_metrics_count_it(inference):
    url, _ = inference

    async def one(client: httpx.AsyncClient) -> int:
        r = await client.post(
            f"{url}/generate",
            json={"inputs": "A pod", "parameters": {"max_new_tokens": 40, "stop": ["zzz"]}},
        )
        if r.status_code == 429:
            assert r.json() == {"error": "Model is overloaded", "error_type": "overloaded"}
        return r.status_code

    async def burst() -> list[int]:
        async with httpx.AsyncClient(timeout=30) as client:
            return await asyncio.gather(*(one(client) for _ in range(8)))

    codes = asyncio.run(burst())
    assert codes.count(200) >= 3 and codes.count(429) >= 1, codes
    metrics = httpx.get(f"{url}/metrics").text
    failures = [
        ln for ln in metrics.splitlines() if ln.startswith('tgi_request_failure{err="overloaded"}')
    ]
    assert failures and int(failures[0].split()[-1]) >= codes.count(429)


def test_queue_size_metric_while_busy(tmp_path: Path):
    server, url = start_inference(tmp_path, "--max-batch-size", "1", token_delay_ms=50)
    try:
        wait_http(f"{url}/health", proc=server.proc)

        async def run() -> int:
            async with httpx.AsyncClient(timeout=30) as client:
                gens = [
                    asyncio.create_task(
                        client.post(
                            f"{url}/generate",
                            json={
                                "inputs": "A pod",
                                "parameters": {"max_new_tokens": 20, "stop": ["zzz"]},
                            },
                        )
                    )
                    for _ in range(3)
                ]
                await asyncio.sleep(0.4)
                text = (await client.get(f"{url}/metrics")).text
                await asyncio.gather(*gens)
                line = next(ln for ln in text.splitlines() if ln.startswith("tgi_queue_size "))
                return int(line.split()[1])

        assert asyncio.run(run()) == 2  # one generating, two waiting for the single slot
    finally:
        server.stop()


def test_metrics_format(inference):
    url, _ = inference
    httpx.post(f"{url}/generate", json={"inputs": "A pod", "parameters": {"max_new_tokens": 3}})
    r = httpx.get(f"{url}/metrics")
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/plain")
    samples = {}
    for line in r.text.splitlines():
        if line and not line.startswith("#"):
            name, value = line.rsplit(" ", 1)
            samples[name] = float(value)
    for name in (
        "tgi_request_count",
        "tgi_request_success",
        "tgi_queue_size",
        "tgi_batch_current_size",
        "tgi_request_duration_count",
        "tgi_request_generated_tokens_sum",
        'tgi_request_duration_bucket{le="+Inf"}',
    ):
        assert name in samples, name
    assert samples["tgi_request_count"] >= samples["tgi_request_success"] >= 1
    assert "# TYPE tgi_request_duration histogram" in r.text
    # Buckets are cumulative.
    buckets = [v for k, v in samples.items() if k.startswith("tgi_request_duration_bucket")]
    assert buckets == sorted(buckets)


def test_info_reports_limits_gpus_and_host(tmp_path: Path, monkeypatch):
    monkeypatch.setenv("NVIDIA_VISIBLE_DEVICES", "GPU-aaaa,GPU-bbbb")
    server, url = start_inference(
        tmp_path, "--model-id", "acme/demo", "--max-concurrent-requests", "7"
    )
    try:
        wait_http(f"{url}/health", proc=server.proc)
        info = httpx.get(f"{url}/info").json()
        assert info["model_id"] == "acme/demo"
        assert info["max_concurrent_requests"] == 7
        assert info["max_input_tokens"] == 1024 and info["max_total_tokens"] == 2048
        assert info["version"] and info["router"] == "text-generation-router"
        assert info["gpus"] == ["GPU-aaaa", "GPU-bbbb"] and info["gpu_count"] == 2
        import socket

        assert info["hostname"] == socket.gethostname()
    finally:
        server.stop()


def test_health_503_while_loading_then_model_files_reused(tmp_path: Path):
    server, url = start_inference(tmp_path, "--load-delay", "2")
    try:
        wait_http(f"{url}/info", proc=server.proc)
        r = httpx.get(f"{url}/health")
        assert r.status_code == 503
        assert r.json()["error_type"] == "healthcheck"
        assert httpx.post(f"{url}/generate", json={"inputs": "a pod"}).status_code == 503
        wait_http(f"{url}/health", proc=server.proc, timeout=20)
        assert httpx.get(f"{url}/info").json()["model_source"] == "created"
        first = httpx.post(f"{url}/generate", json={"inputs": "What is a pod?"}).json()
    finally:
        server.stop()
    model_dir = tmp_path / "data" / "docker2k8s" / "tiny-ngram"
    assert (model_dir / "model.json").is_file() and (model_dir / "config.json").is_file()
    assert "created new model files" in server.logs()
    # Restart on the same data dir: the files are reused, as a model volume would be.
    server2, url2 = start_inference(tmp_path)
    try:
        wait_http(f"{url2}/health", proc=server2.proc)
        assert httpx.get(f"{url2}/info").json()["model_source"] == "loaded"
        assert httpx.post(f"{url2}/generate", json={"inputs": "What is a pod?"}).json() == first
    finally:
        server2.stop()
    assert "loaded model from" in server2.logs()


def test_a_drain_file_fails_health_while_requests_are_still_served(tmp_path: Path):
    """Lab 11's readiness demo: `touch /tmp/drain` takes a replica out of rotation, no restart."""
    drain = tmp_path / "drain"
    server, url = start_inference(tmp_path, "--drain-file", str(drain))
    try:
        wait_http(f"{url}/health", proc=server.proc)
        assert httpx.get(f"{url}/info").json()["draining"] is False
        drain.touch()
        r = httpx.get(f"{url}/health")
        assert r.status_code == 503
        assert r.json() == {"error": f"draining: {drain} exists", "error_type": "healthcheck"}
        assert httpx.get(f"{url}/info").json()["draining"] is True
        answer = httpx.post(f"{url}/generate", json={"inputs": "What is a pod?"})
        assert answer.status_code == 200 and answer.json()["generated_text"]
        drain.unlink()
        assert httpx.get(f"{url}/health").status_code == 200
    finally:
        server.stop()


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process so far (Linux /proc)."""
    import os

    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def test_token_cpu_ms_spends_cpu_on_every_token(tmp_path: Path):
    """Lab 11's CPU autoscaling: each token costs --token-cpu-ms of CPU, not of waiting."""
    server, url = start_inference(tmp_path, "--token-cpu-ms", "20")
    try:
        wait_http(f"{url}/health", proc=server.proc)
        body = {"inputs": "What is a pod?", "parameters": {"max_new_tokens": 10, "details": True}}
        httpx.post(f"{url}/generate", json=body)  # the first request warms up
        before, started = _cpu_seconds(server.proc.pid), time.monotonic()
        tokens = sum(
            httpx.post(f"{url}/generate", json=body).json()["details"]["generated_tokens"]
            for _ in range(5)
        )
        spent, took = _cpu_seconds(server.proc.pid) - before, time.monotonic() - started
        assert tokens >= 5
        assert spent >= 0.8 * tokens * 0.020, f"{tokens} tokens cost {spent:.3f} s of CPU"
        assert took >= tokens * 0.020
    finally:
        server.stop()


def test_bad_flags_fail_clearly(tmp_path: Path):
    import subprocess
    import sys

    from .procs import APPS

    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "inference_server",
            "--max-input-tokens",
            "10",
            "--max-total-tokens",
            "5",
        ],
        capture_output=True,
        text=True,
        env={"PYTHONPATH": str(APPS / "inference")},
    )
    assert r.returncode == 2
    assert "--max-input-tokens must be < --max-total-tokens" in r.stderr
    assert "Traceback" not in r.stderr


def test_model_fetched_from_a_model_store(tmp_path: Path):
    """With MODEL_STORE_URL, absent model files are downloaded (like a hub download) once."""
    import subprocess
    import sys

    from .procs import free_port

    # A model store: a plain HTTP directory holding a model another server made.
    first, url = start_inference(tmp_path / "maker", "--model-id", "store/m1")
    try:
        wait_http(f"{url}/health", proc=first.proc)
    finally:
        first.stop()
    port = free_port()
    store = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "http.server",
            str(port),
            "--bind",
            "127.0.0.1",
            "--directory",
            str(tmp_path / "maker" / "data"),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        store_url = f"http://127.0.0.1:{port}"
        wait_http(f"{store_url}/store/m1/config.json")
        server, url = start_inference(
            tmp_path / "user", "--model-id", "store/m1", "--model-store-url", store_url
        )
        try:
            wait_http(f"{url}/health", proc=server.proc)
            assert httpx.get(f"{url}/info").json()["model_source"] == "fetched"
        finally:
            server.stop()
        assert "fetched model files from the model store" in server.logs()
        # An unknown model in the store: /health stays 503 and says why.
        bad, url = start_inference(
            tmp_path / "bad", "--model-id", "store/missing", "--model-store-url", store_url
        )
        try:
            wait_http(f"{url}/info", proc=bad.proc)
            deadline = time.monotonic() + 10
            while "cannot fetch" not in bad.logs() and time.monotonic() < deadline:
                time.sleep(0.1)
            r = httpx.get(f"{url}/health")
            assert r.status_code == 503 and "cannot fetch" in r.json()["error"]
        finally:
            bad.stop()
    finally:
        store.terminate()
        store.wait()


def test_abandoned_streams_free_their_slots(inference):
    """Clients that hang up mid-stream must not use up --max-concurrent-requests (3 here)."""
    url, _ = inference
    for _ in range(3):
        for _ in range(3):
            with httpx.stream(
                "POST",
                f"{url}/generate_stream",
                json={"inputs": "A pod", "parameters": {"max_new_tokens": 60, "stop": ["zzz"]}},
            ) as r:
                assert r.status_code == 200
                next(r.iter_lines())  # read one token, then hang up
    time.sleep(0.5)
    r = httpx.post(f"{url}/generate", json={"inputs": "A pod", "parameters": {"max_new_tokens": 2}})
    assert r.status_code == 200, r.text
