"""HTTP API shaped like Hugging Face text-generation-inference (TGI), served by Starlette.

Routes: POST /generate, /generate_stream, /v1/chat/completions; GET /info, /health, /metrics,
/v1/models. Errors are JSON {"error", "error_type"} with TGI's status codes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import random
import socket
import time
import uuid
import weakref
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

from .metrics import Metrics
from .model import LoadedModel, ModelFetchError, SamplingParams, Token, load_or_create

VERSION = "2.4.1-d2k"
log = logging.getLogger("inference")


@dataclass
class Settings:
    model_id: str = "docker2k8s/tiny-ngram"
    data_dir: Path = Path("/data")
    max_concurrent_requests: int = 128
    max_input_tokens: int = 1024
    max_total_tokens: int = 2048
    max_batch_size: int = 4
    max_stop_sequences: int = 4
    payload_limit: int = 2_000_000  # bytes of a request body, TGI's --payload-limit default
    load_delay: float = 0.0
    token_delay: float = 0.02
    token_cpu: float = 0.0  # CPU seconds each token costs, as on a CPU-only server
    drain_file: Path | None = None  # while this file exists, /health says 503
    model_store_url: str | None = None
    hostname: str = field(
        default_factory=lambda: os.environ.get("POD_NAME") or socket.gethostname()
    )


class ApiError(Exception):
    def __init__(self, status: int, message: str, error_type: str):
        super().__init__(message)
        self.status, self.message, self.error_type = status, message, error_type

    def response(self) -> JSONResponse:
        return JSONResponse({"error": self.message, "error_type": self.error_type}, self.status)


def validation(message: str) -> ApiError:
    return ApiError(422, f"Input validation error: {message}", "validation")


def gpus_from_env() -> list[str]:
    """The GPUs Docker (--gpus) or the device plugin gave this container."""
    raw = os.environ.get("NVIDIA_VISIBLE_DEVICES", "").strip()
    if raw in ("", "void", "none"):
        return []
    return [g.strip() for g in raw.split(",") if g.strip()]


@dataclass
class GenRequest:
    """A validated generation request."""

    prompt_ids: list[int]
    input_length: int
    max_new_tokens: int
    params: SamplingParams
    stop: list[str]
    return_full_text: bool
    details: bool
    inputs: str


@dataclass
class Result:
    text: str = ""
    tokens: list[Token] = field(default_factory=list)
    finish_reason: str = "length"
    done: bool = False  # set before the last token is yielded
    queue_time: float = 0.0
    inference_time: float = 0.0


class Server:
    def __init__(self, settings: Settings):
        self.s = settings
        self.metrics = Metrics()
        self.loaded: LoadedModel | None = None
        self.load_error: str | None = None
        self.in_flight = 0
        self.slots = asyncio.Semaphore(settings.max_batch_size)

    # ---- model loading ------------------------------------------------------------------
    @property
    def model_dir(self) -> Path:
        return self.s.data_dir / self.s.model_id

    @property
    def draining(self) -> bool:
        """Taken out of rotation on purpose: the drain file exists (`touch /tmp/drain`)."""
        return self.s.drain_file is not None and self.s.drain_file.exists()

    async def load(self) -> None:
        if self.s.load_delay > 0:
            log.info("simulating a slow model load: %.1f s", self.s.load_delay)
            await asyncio.sleep(self.s.load_delay)
        try:
            loaded = await asyncio.to_thread(
                load_or_create, self.model_dir, self.s.model_id, self.s.model_store_url
            )
        except ModelFetchError as exc:
            self.load_error = str(exc)
            log.error("%s (check MODEL_STORE_URL and the model id)", exc)
            return
        except OSError as exc:
            self.load_error = f"cannot write the model to {self.model_dir}: {exc}"
            log.error("%s (mount a writable volume at %s)", self.load_error, self.s.data_dir)
            return
        verb = {
            "created": "created new model files in",
            "fetched": "fetched model files from the model store into",
            "loaded": "loaded model from",
        }[loaded.source]
        log.info("%s %s (sha256 %s)", verb, loaded.path, loaded.sha[:12])
        self.loaded = loaded

    # ---- request parsing ----------------------------------------------------------------
    def _model(self) -> LoadedModel:
        if self.loaded is None:
            raise ApiError(503, "Model is loading", "unavailable")
        return self.loaded

    def parse_parameters(self, inputs: str, p: dict[str, Any]) -> GenRequest:
        loaded = self._model()
        if not isinstance(p, dict):
            raise validation("`parameters` must be an object")
        if not inputs:
            raise validation("`inputs` cannot be empty")
        temperature = _number(p, "temperature")
        if temperature is not None and temperature <= 0:
            raise validation("`temperature` must be strictly positive")
        top_p = _number(p, "top_p")
        if top_p is not None and not 0.0 < top_p <= 1.0:
            raise validation("`top_p` must be > 0.0 and <= 1.0")
        top_k = _integer(p, "top_k")
        if top_k is not None and top_k <= 0:
            raise validation("`top_k` must be strictly positive")
        rep = _number(p, "repetition_penalty")
        if rep is not None and rep <= 0:
            raise validation("`repetition_penalty` must be strictly positive")
        seed = _integer(p, "seed")
        if seed is not None and seed < 0:
            raise validation("`seed` must be >= 0")
        stop = p.get("stop") or []
        if not isinstance(stop, list) or not all(isinstance(x, str) for x in stop):
            raise validation("`stop` must be a list of strings")
        if len(stop) > self.s.max_stop_sequences:
            raise validation(
                f"`stop` supports up to {self.s.max_stop_sequences} stop sequences. "
                f"Given: {len(stop)}"
            )
        prompt_ids = loaded.model.encode(inputs)
        n_in = len(prompt_ids)
        if n_in > self.s.max_input_tokens:
            raise validation(
                f"`inputs` must have less than {self.s.max_input_tokens} tokens. Given: {n_in}"
            )
        max_new = _integer(p, "max_new_tokens")
        if max_new is None:
            max_new = min(100, self.s.max_total_tokens - n_in)
        if max_new <= 0:
            raise validation("`max_new_tokens` must be strictly positive")
        if n_in + max_new > self.s.max_total_tokens:
            raise validation(
                f"`inputs` tokens + `max_new_tokens` must be <= {self.s.max_total_tokens}. "
                f"Given: {n_in} `inputs` tokens and {max_new} `max_new_tokens`"
            )
        do_sample = bool(p.get("do_sample")) or any(
            v is not None for v in (temperature, top_p, top_k)
        )
        if do_sample and seed is None:
            seed = random.randrange(2**63)
        params = SamplingParams(
            do_sample=do_sample,
            temperature=temperature or 1.0,
            top_k=top_k,
            top_p=top_p,
            repetition_penalty=rep,
            seed=seed,
        )
        return GenRequest(
            prompt_ids,
            n_in,
            max_new,
            params,
            stop,
            bool(p.get("return_full_text")),
            bool(p.get("details")),
            inputs,
        )

    # ---- generation ---------------------------------------------------------------------
    def admit(self) -> Admission:
        """At most --max-concurrent-requests requests at once; the rest get 429 like TGI."""
        if self.in_flight >= self.s.max_concurrent_requests:
            self.metrics.failure("overloaded")
            raise ApiError(429, "Model is overloaded", "overloaded")
        self.in_flight += 1
        return Admission(self)

    async def tokens(self, req: GenRequest, result: Result) -> AsyncIterator[Token]:
        """Generate under a batch slot, stopping on EOS, stop sequence or length."""
        loaded = self._model()
        queued = time.perf_counter()
        self.metrics.queue_size += 1
        try:
            await self.slots.acquire()
        finally:
            self.metrics.queue_size -= 1
        started = time.perf_counter()
        result.queue_time = started - queued
        self.metrics.batch_current_size += 1
        try:
            gen = loaded.model.generate(req.prompt_ids, req.params)
            for token in gen:
                if self.s.token_cpu > 0:
                    _compute(self.s.token_cpu)
                await asyncio.sleep(self.s.token_delay)
                result.tokens.append(token)
                result.text += token.text
                if token.special:
                    result.finish_reason = "eos_token"
                elif any(result.text.endswith(s) for s in req.stop if s):
                    result.finish_reason = "stop_sequence"
                elif len(result.tokens) >= req.max_new_tokens:
                    result.finish_reason = "length"
                else:
                    yield token
                    continue
                result.done = True
                yield token
                return
        finally:
            result.inference_time = time.perf_counter() - started
            self.metrics.batch_current_size -= 1
            self.slots.release()

    def record(self, req: GenRequest, result: Result, began: float) -> None:
        m = self.metrics
        n = len(result.tokens)
        m.request_success += 1
        m.observe("tgi_request_duration", time.perf_counter() - began)
        m.observe("tgi_request_queue_duration", result.queue_time)
        m.observe("tgi_request_inference_duration", result.inference_time)
        m.observe("tgi_request_input_length", req.input_length)
        m.observe("tgi_request_generated_tokens", n)
        if n:
            m.observe("tgi_request_mean_time_per_token_duration", result.inference_time / n)

    def headers(self, req: GenRequest | None = None, result: Result | None = None) -> dict:
        h = {
            "x-compute-type": os.environ.get("COMPUTE_TYPE", "cpu"),
            "x-served-by": self.s.hostname,
        }
        if req and result:
            total = result.queue_time + result.inference_time
            n = max(len(result.tokens), 1)
            h |= {
                "x-compute-time": f"{total:.6f}",
                "x-queue-time": str(int(result.queue_time * 1000)),
                "x-inference-time": str(int(result.inference_time * 1000)),
                "x-time-per-token": str(int(result.inference_time * 1000 / n)),
                "x-prompt-tokens": str(req.input_length),
                "x-generated-tokens": str(len(result.tokens)),
            }
        return h

    def details(self, req: GenRequest, result: Result) -> dict:
        return {
            "finish_reason": result.finish_reason,
            "generated_tokens": len(result.tokens),
            "seed": req.params.seed if req.params.do_sample else None,
            "prefill": [],
            "tokens": [_token_json(t) for t in result.tokens],
        }

    def info(self) -> dict:
        gpus = gpus_from_env()
        return {
            "model_id": self.s.model_id,
            "model_sha": self.loaded.sha if self.loaded else None,
            "model_dtype": "ngram",
            "model_device_type": "cpu",
            "model_pipeline_tag": "text-generation",
            "max_concurrent_requests": self.s.max_concurrent_requests,
            "max_best_of": 1,
            "max_stop_sequences": self.s.max_stop_sequences,
            "max_input_tokens": self.s.max_input_tokens,
            "max_total_tokens": self.s.max_total_tokens,
            "max_batch_size": self.s.max_batch_size,
            "validation_workers": 1,
            "max_client_batch_size": 1,
            "router": "text-generation-router",
            "version": VERSION,
            "sha": None,
            "docker_label": None,
            # Not in TGI: what the labs look at.
            "hostname": self.s.hostname,
            "gpus": gpus,
            "gpu_count": len(gpus),
            "model_dir": str(self.model_dir),
            "model_source": self.loaded.source if self.loaded else None,
            "ready": self.loaded is not None,
            "draining": self.draining,
        }


class Admission:
    """A slot among --max-concurrent-requests; released exactly once."""

    def __init__(self, server: Server):
        self.server: Server | None = server

    def release(self) -> None:
        if self.server is not None:
            self.server.in_flight -= 1
            self.server = None

    def guard(self, stream: AsyncIterator[str]) -> AsyncIterator[str]:
        """Release also when a stream is dropped unstarted (client gone before the first byte):
        its `finally` never runs then, so a finalizer on the generator object does it."""
        weakref.finalize(stream, self.release)
        return stream

    def __enter__(self) -> Admission:
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _compute(seconds: float) -> None:
    """Spend `seconds` of CPU time, as a forward pass on a CPU does: throttled by a CPU limit,
    it takes longer, never less CPU. (TOKEN_DELAY_MS instead waits, as for a GPU.)"""
    end = time.thread_time() + seconds
    while time.thread_time() < end:
        pass


def _number(p: dict, name: str) -> float | None:
    value = p.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise validation(f"`{name}` must be a number")
    return float(value)


def _integer(p: dict, name: str) -> int | None:
    value = p.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise validation(f"`{name}` must be an integer")
    return value


def _token_json(t: Token) -> dict:
    return {"id": t.id, "text": t.text, "logprob": round(t.logprob, 4), "special": t.special}


def _sse(payload: dict | str) -> str:
    data = payload if isinstance(payload, str) else json.dumps(payload, separators=(",", ":"))
    return f"data:{data}\n\n"


async def _json_body(request: Request, limit: int) -> dict:
    """The JSON object of the body, read no further than `limit` bytes (413 beyond, like TGI)."""
    too_large = ApiError(413, f"Payload too large: the limit is {limit} bytes", "validation")
    if int(request.headers.get("content-length") or 0) > limit:
        raise too_large
    data = bytearray()
    async for chunk in request.stream():
        data += chunk
        if len(data) > limit:
            raise too_large
    try:
        body = json.loads(data)
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise validation(f"the request body is not valid JSON: {exc}") from None
    except RecursionError:
        raise validation("the request body is nested too deeply") from None
    if not isinstance(body, dict):
        raise validation("the request body must be a JSON object")
    return body


def build_app(settings: Settings) -> Starlette:
    server = Server(settings)

    async def begin(
        request: Request, parse: Callable[[dict], GenRequest]
    ) -> tuple[Admission, dict, GenRequest, float]:
        """Admit (429 when full), then parse; a rejected request frees its slot at once."""
        admission = server.admit()
        try:
            server.metrics.request_count += 1
            body = await _json_body(request, settings.payload_limit)
            try:
                return admission, body, parse(body), time.perf_counter()
            except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as exc:
                # a field of the wrong shape deep inside (a number where text belongs)
                raise validation(f"the request does not fit the API: {exc}") from None
        except ApiError as err:
            admission.release()
            if err.error_type == "validation":
                server.metrics.failure("validation")
            raise
        except BaseException:  # a disconnect or a bug: the slot is freed all the same
            admission.release()
            raise

    def generate_request(body: dict) -> GenRequest:
        inputs = body.get("inputs")
        if not isinstance(inputs, str):
            raise validation("`inputs` is required and must be a string")
        return server.parse_parameters(inputs, body.get("parameters") or {})

    def stream(admission: Admission, events: AsyncIterator[str]) -> StreamingResponse:
        headers = server.headers() | {"x-accel-buffering": "no", "cache-control": "no-cache"}
        return StreamingResponse(
            admission.guard(events), media_type="text/event-stream", headers=headers
        )

    async def generate(request: Request) -> Response:
        try:
            admission, _, req, began = await begin(request, generate_request)
        except ApiError as err:
            return err.response()
        result = Result()
        with admission:
            async for _ in server.tokens(req, result):
                pass
        server.record(req, result, began)
        text = (req.inputs + result.text) if req.return_full_text else result.text
        body: dict[str, Any] = {"generated_text": text}
        if req.details:
            body["details"] = server.details(req, result)
        return JSONResponse(body, headers=server.headers(req, result))

    async def generate_stream(request: Request) -> Response:
        try:
            admission, _, req, began = await begin(request, generate_request)
        except ApiError as err:
            return err.response()

        async def events() -> AsyncIterator[str]:
            result = Result()
            with admission:
                index = 0
                async for token in server.tokens(req, result):
                    index += 1
                    event: dict[str, Any] = {
                        "index": index,
                        "token": _token_json(token),
                        "top_tokens": None,
                        "generated_text": None,
                        "details": None,
                    }
                    if result.done:
                        text = result.text
                        event["generated_text"] = (
                            (req.inputs + text) if req.return_full_text else text
                        )
                        event["details"] = {
                            "finish_reason": result.finish_reason,
                            "generated_tokens": len(result.tokens),
                            "input_length": req.input_length,
                            "seed": req.params.seed if req.params.do_sample else None,
                        }
                    yield _sse(event)
                server.record(req, result, began)

        return stream(admission, events())

    async def chat_completions(request: Request) -> Response:
        try:
            admission, body, req, began = await begin(request, chat_request)
        except ApiError as err:
            return err.response()
        created = int(time.time())
        completion_id = f"chatcmpl-{uuid.uuid4().hex[:24]}"
        base = {
            "id": completion_id,
            "created": created,
            "model": settings.model_id,
            "system_fingerprint": f"{VERSION}-native",
        }

        def finish(reason: str) -> str:
            return "stop" if reason in ("eos_token", "stop_sequence") else "length"

        if not body.get("stream"):
            result = Result()
            with admission:
                async for _ in server.tokens(req, result):
                    pass
            server.record(req, result, began)
            n_out = len(result.tokens)
            payload = base | {
                "object": "chat.completion",
                "choices": [
                    {
                        "index": 0,
                        "message": {"role": "assistant", "content": result.text},
                        "logprobs": None,
                        "finish_reason": finish(result.finish_reason),
                    }
                ],
                "usage": {
                    "prompt_tokens": req.input_length,
                    "completion_tokens": n_out,
                    "total_tokens": req.input_length + n_out,
                },
            }
            return JSONResponse(payload, headers=server.headers(req, result))

        async def events() -> AsyncIterator[str]:
            result = Result()
            with admission:
                async for token in server.tokens(req, result):
                    chunk = base | {
                        "object": "chat.completion.chunk",
                        "choices": [
                            {
                                "index": 0,
                                "delta": {"role": "assistant", "content": token.text},
                                "logprobs": None,
                                "finish_reason": (
                                    finish(result.finish_reason) if result.done else None
                                ),
                            }
                        ],
                        "usage": None,
                    }
                    yield _sse(chunk)
                server.record(req, result, began)
                yield _sse("[DONE]")

        return stream(admission, events())

    def chat_request(body: dict) -> GenRequest:
        messages = body.get("messages")
        if not isinstance(messages, list) or not messages:
            raise validation("`messages` must be a non-empty list")
        texts: list[str] = []
        last_user = ""
        for m in messages:
            if not isinstance(m, dict) or "role" not in m:
                raise validation("each message needs a `role` and a `content`")
            content = m.get("content") or ""
            if isinstance(content, list):
                content = " ".join(c.get("text", "") for c in content if isinstance(c, dict))
            if not isinstance(content, str):
                raise validation("`content` must be a string or a list of text chunks")
            texts.append(content)
            if m["role"] == "user":
                last_user = content
        temperature = body.get("temperature")
        stop = body.get("stop")
        params: dict[str, Any] = {
            "max_new_tokens": body.get("max_tokens"),
            "seed": body.get("seed"),
            "top_p": body.get("top_p"),
            "stop": [stop] if isinstance(stop, str) else stop,
        }
        # OpenAI semantics: temperature 0 means greedy; no temperature means sampling.
        if temperature == 0:
            params["do_sample"] = False
        else:
            params["do_sample"] = True
            params["temperature"] = temperature
        req = server.parse_parameters(last_user or texts[-1] or " ", params)
        # The model only looks at the last user turn, but every turn counts toward the limits.
        req.input_length = len(server._model().model.encode("\n".join(texts)))
        if req.input_length > settings.max_input_tokens:
            raise validation(
                f"`inputs` must have less than {settings.max_input_tokens} tokens. "
                f"Given: {req.input_length}"
            )
        return req

    async def health(request: Request) -> Response:
        if server.loaded is None:
            message = server.load_error or "unhealthy"
            return JSONResponse({"error": message, "error_type": "healthcheck"}, 503)
        if server.draining:  # still serves what reaches it; tells load balancers to stop
            message = f"draining: {settings.drain_file} exists"
            return JSONResponse({"error": message, "error_type": "healthcheck"}, 503)
        return Response(status_code=200)

    async def info(request: Request) -> Response:
        return JSONResponse(server.info(), headers=server.headers())

    async def metrics(request: Request) -> Response:
        return PlainTextResponse(server.metrics.render(), media_type="text/plain; version=0.0.4")

    async def models(request: Request) -> Response:
        return JSONResponse(
            {
                "object": "list",
                "data": [
                    {"id": settings.model_id, "object": "model", "created": 0, "owned_by": "d2k"}
                ],
            }
        )

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        task = asyncio.create_task(server.load())
        yield
        task.cancel()

    routes = [
        Route("/generate", generate, methods=["POST"]),
        Route("/generate_stream", generate_stream, methods=["POST"]),
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/info", info, methods=["GET"]),
        Route("/health", health, methods=["GET"]),
        Route("/metrics", metrics, methods=["GET"]),
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.server = server
    return app
