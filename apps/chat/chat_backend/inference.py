"""Streaming client for the inference service: TGI's /generate_stream or an OpenAI-compatible
/v1/chat/completions (vLLM, TGI, llama.cpp server...)."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from dataclasses import dataclass

import httpx

from .config import Settings


class InferenceError(Exception):
    def __init__(self, status: int, message: str):
        super().__init__(message)
        self.status, self.message = status, message


@dataclass
class Stream:
    """An open streaming response; `replica` names the server that answers (x-served-by)."""

    response: httpx.Response
    api: str
    replica: str
    finish_reason: str | None = None

    async def tokens(self) -> AsyncIterator[str]:
        try:
            async for line in self.response.aiter_lines():
                if not line.startswith("data:"):
                    continue
                data = line[len("data:") :].strip()
                if data == "[DONE]":
                    return
                event = json.loads(data)
                if "error" in event:
                    raise InferenceError(502, f"inference failed mid-answer: {event['error']}")
                if self.api == "tgi":
                    token = event["token"]
                    if event.get("details"):
                        self.finish_reason = event["details"].get("finish_reason")
                    if not token.get("special"):
                        yield token["text"]
                else:
                    choice = (event.get("choices") or [{}])[0]
                    self.finish_reason = choice.get("finish_reason") or self.finish_reason
                    text = (choice.get("delta") or {}).get("content")
                    if text:
                        yield text
        finally:
            await self.response.aclose()


class InferenceClient:
    def __init__(self, settings: Settings):
        self.s = settings
        key = settings.inference_key
        self.client = httpx.AsyncClient(
            timeout=httpx.Timeout(60.0, connect=3.0),
            headers={"authorization": f"Bearer {key}"} if key else None,
        )

    def _unreachable(self, exc: Exception) -> InferenceError:
        return InferenceError(
            503,
            f"the inference service at {self.s.inference_url} is not reachable "
            f"({type(exc).__name__}); check that it is running and INFERENCE_URL is right",
        )

    async def open_stream(self, prompt: str, history: list[dict]) -> Stream:
        if self.s.inference_api == "tgi":
            url = f"{self.s.inference_url}/generate_stream"
            body: dict = {
                "inputs": prompt,
                "parameters": {
                    "max_new_tokens": self.s.max_new_tokens,
                    "do_sample": True,
                    "temperature": self.s.temperature,
                    "top_p": 0.95,
                    "repetition_penalty": 1.3,
                },
            }
        else:
            url = f"{self.s.inference_url}/v1/chat/completions"
            body = {
                "model": self.s.inference_model,
                "messages": history,
                "stream": True,
                "max_tokens": self.s.max_new_tokens,
                "temperature": self.s.temperature,
            }
        request = self.client.build_request("POST", url, json=body)
        try:
            response = await self.client.send(request, stream=True)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from None
        if response.status_code != 200:
            raw = await response.aread()
            await response.aclose()
            try:
                message = json.loads(raw).get("error") or raw.decode(errors="replace")
            except (ValueError, AttributeError):
                message = raw.decode(errors="replace")[:300]
            if response.status_code == 429:
                raise InferenceError(429, "the inference service is busy (429); try again soon")
            if response.status_code == 503:
                raise InferenceError(503, f"the inference service is not ready yet: {message}")
            raise InferenceError(502, f"inference answered HTTP {response.status_code}: {message}")
        replica = response.headers.get("x-served-by", "unknown")
        return Stream(response, self.s.inference_api, replica)

    async def ready(self) -> tuple[bool, str]:
        path = "/health" if self.s.inference_api == "tgi" else "/v1/models"
        try:
            r = await self.client.get(f"{self.s.inference_url}{path}", timeout=3.0)
        except httpx.HTTPError as exc:
            return False, self._unreachable(exc).message
        if r.status_code != 200:
            return False, f"{self.s.inference_url}{path} answered HTTP {r.status_code}"
        return True, "ok"
