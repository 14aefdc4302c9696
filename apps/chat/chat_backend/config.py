"""Settings from environment variables; any NAME may instead be read from the file at NAME_FILE
(how Docker/Compose secrets and Kubernetes Secret volumes hand over passwords)."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


def setting(name: str, default: str | None = None) -> str | None:
    file_var = f"{name}_FILE"
    path = os.environ.get(file_var)
    if path:
        try:
            return Path(path).read_text(encoding="utf-8").strip()
        except OSError as exc:
            raise ConfigError(
                f"{file_var}={path} cannot be read ({exc.strerror}); mount the "
                f"secret there or set {name} instead"
            ) from None
    return os.environ.get(name, default)


def _int(name: str, default: int) -> int:
    raw = setting(name, str(default))
    try:
        return int(raw or default)
    except ValueError:
        raise ConfigError(f"{name}={raw!r} must be an integer") from None


@dataclass(frozen=True)
class Settings:
    database_url: str | None
    db_host: str
    db_port: int
    db_name: str
    db_user: str
    db_password: str | None
    # How long a chat waits for an unreachable database (a db Pod restarting): for the user's
    # message, which the page gives back to its user when it fails, and for the reply, which
    # cannot be asked for again.
    db_retry_seconds: int
    reply_retry_seconds: int
    inference_url: str
    inference_api: str
    inference_model: str
    # The inference server's API key (vLLM's --api-key, a gateway in front of TGI), sent as a
    # bearer token; None: the server asks for none (the workshop's own does not).
    inference_key: str | None
    max_message_chars: int
    max_new_tokens: int
    temperature: float

    @classmethod
    def from_env(cls) -> Settings:
        api = (setting("INFERENCE_API", "tgi") or "tgi").lower()
        if api not in ("tgi", "openai"):
            raise ConfigError(
                f"INFERENCE_API={api!r}: use 'tgi' (/generate_stream) or "
                "'openai' (/v1/chat/completions)"
            )
        try:
            temperature = float(setting("TEMPERATURE", "0.8") or 0.8)
        except ValueError:
            raise ConfigError("TEMPERATURE must be a number such as 0.8") from None
        return cls(
            database_url=setting("DATABASE_URL"),
            db_host=setting("DB_HOST", "db") or "db",
            db_port=_int("DB_PORT", 3306),
            db_name=setting("DB_NAME", "chat") or "chat",
            db_user=setting("DB_USER", "chat") or "chat",
            db_password=setting("DB_PASSWORD"),
            db_retry_seconds=_int("DB_RETRY_SECONDS", 15),
            reply_retry_seconds=_int("REPLY_RETRY_SECONDS", 90),
            inference_url=(setting("INFERENCE_URL", "http://inference:80") or "").rstrip("/"),
            inference_api=api,
            inference_model=setting("INFERENCE_MODEL", "tgi") or "tgi",
            inference_key=setting("INFERENCE_KEY") or None,
            max_message_chars=_int("MAX_MESSAGE_CHARS", 2000),
            max_new_tokens=_int("MAX_NEW_TOKENS", 60),
            temperature=temperature,
        )
