"""FastAPI app: POST /api/chat (SSE stream), conversations, /healthz and /readyz."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.responses import JSONResponse, StreamingResponse
from pydantic import BaseModel
from sqlalchemy.exc import OperationalError, SQLAlchemyError
from starlette.concurrency import run_in_threadpool

from .config import ConfigError, Settings
from .inference import InferenceClient, InferenceError
from .store import Store

log = logging.getLogger("chat")


class ChatIn(BaseModel):
    message: str
    conversation_id: int | None = None


def _sse(event: str, data: dict) -> str:
    return f"event: {event}\ndata: {json.dumps(data)}\n\n"


def _error(status: int, detail: str, **extra: object) -> JSONResponse:
    return JSONResponse({"detail": detail, **extra}, status_code=status)


def create_app(settings: Settings | None = None) -> FastAPI:
    settings = settings or Settings.from_env()
    store = Store(settings)
    try:  # create or migrate the schema now; if the database is not up yet, on first use
        store.ensure_schema()
        log.info("database schema ready")
    except SQLAlchemyError as exc:
        log.warning(
            "database not reachable yet (%s); will retry on first request", type(exc).__name__
        )
    # Created on first use, inside the server's event loop.
    clients: dict[str, InferenceClient] = {}

    def inference() -> InferenceClient:
        if "c" not in clients:
            clients["c"] = InferenceClient(settings)
        return clients["c"]

    async def patiently(call, *args):
        """A chat's database call, waiting out a restarting database (Store.patiently)."""
        return await run_in_threadpool(store.patiently, call, *args)

    app = FastAPI(title="docker2k8s chat", version="0.1.0")

    @app.exception_handler(SQLAlchemyError)
    async def database_down(request, exc: SQLAlchemyError) -> JSONResponse:
        log.warning("database error: %s", exc)
        return _error(
            503,
            "the database is not reachable; check the db service and the "
            "DB_HOST / DB_PASSWORD settings",
        )

    @app.get("/healthz")
    async def healthz() -> dict:
        return {"status": "ok"}

    @app.get("/readyz")
    async def readyz() -> JSONResponse:
        checks: dict[str, str] = {}
        try:
            await run_in_threadpool(store.ping)
            checks["database"] = "ok"
        except SQLAlchemyError as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
        ok, message = await inference().ready()
        checks["inference"] = message
        ready = checks["database"] == "ok" and ok
        return JSONResponse({"ready": ready, "checks": checks}, status_code=200 if ready else 503)

    @app.get("/api/conversations")
    async def list_conversations() -> list[dict]:
        return await run_in_threadpool(store.list_conversations)

    @app.get("/api/conversations/{conversation_id}")
    async def get_conversation(conversation_id: int):
        conv = await run_in_threadpool(store.get_conversation, conversation_id)
        if conv is None:
            return _error(404, f"conversation {conversation_id} does not exist")
        return conv

    @app.post("/api/chat")
    async def chat(body: ChatIn):
        text = body.message.strip()
        if not text:
            return _error(422, "the message is empty; type something to send")
        if len(text) > settings.max_message_chars:
            return _error(
                422,
                f"the message has {len(text)} characters; the limit is "
                f"{settings.max_message_chars} (MAX_MESSAGE_CHARS)",
            )
        conv_id = body.conversation_id
        # Stored before asking the model: an inference outage must not lose the user's words. A
        # database that stays unreachable fails the request with 503 and no user_message_id,
        # which tells the page the message was not saved (it puts it back in the input box).
        if conv_id is None:
            conv_id = await patiently(store.create_conversation, text[:60])
        elif not await patiently(store.conversation_exists, conv_id):
            return _error(404, f"conversation {conv_id} does not exist")
        user_id = await patiently(store.add_message, conv_id, "user", text)
        history = await patiently(store.history, conv_id)
        try:
            stream = await inference().open_stream(text, history)
        except InferenceError as err:
            log.warning("inference unavailable: %s", err.message)
            return _error(
                err.status,
                f"{err.message}. Your message was saved.",
                conversation_id=conv_id,
                user_message_id=user_id,
            )

        async def events() -> AsyncIterator[str]:
            yield _sse(
                "meta",
                {"conversation_id": conv_id, "user_message_id": user_id, "replica": stream.replica},
            )
            answer = ""
            try:
                async for token in stream.tokens():
                    answer += token
                    yield _sse("token", {"text": token})
            except InferenceError as err:
                yield _sse("error", {"detail": err.message})
            except Exception as exc:  # the connection to inference broke mid-answer
                yield _sse("error", {"detail": f"the answer was cut off: {type(exc).__name__}"})
            content = answer.strip()
            message_id = None
            if content:
                # The reply cannot be asked for again: wait longer for the database, with a
                # comment line now and then so that proxies keep the stream open.
                saving = asyncio.ensure_future(
                    run_in_threadpool(
                        store.patiently,
                        store.add_message,
                        conv_id,
                        "assistant",
                        content,
                        stream.replica,
                        seconds=settings.reply_retry_seconds,
                    )
                )
                while not (await asyncio.wait({saving}, timeout=5))[0]:
                    yield ": waiting for the database to store the reply\n\n"
                try:
                    message_id = saving.result()
                except SQLAlchemyError as exc:
                    log.warning("the reply was not saved: %s", exc)
                    why = "is not reachable" if isinstance(exc, OperationalError) else "refused it"
                    detail = f"the reply could not be saved, the database {why}: it is shown here"
                    yield _sse("error", {"detail": f"{detail} but is missing from the history"})
            yield _sse(
                "done",
                {
                    "conversation_id": conv_id,
                    "message_id": message_id,
                    "content": content,
                    "replica": stream.replica,
                    "finish_reason": stream.finish_reason,
                },
            )

        return StreamingResponse(
            events(),
            media_type="text/event-stream",
            headers={"cache-control": "no-cache", "x-accel-buffering": "no"},
        )

    return app


def app_from_env() -> FastAPI:
    try:
        return create_app()
    except ConfigError as err:
        raise SystemExit(f"chat: configuration error: {err}") from None
