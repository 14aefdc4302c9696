"""`python -m chat_backend`: serve the chat API with uvicorn on $PORT (default 8000)."""

from __future__ import annotations

import logging
import os
import sys


def main() -> None:
    logging.basicConfig(
        level=os.environ.get("LOG_LEVEL", "info").upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    port_raw = os.environ.get("PORT", "8000")
    if not port_raw.isdigit():
        sys.exit(f"chat: PORT={port_raw!r} must be a number")
    from .app import app_from_env

    app = app_from_env()
    import uvicorn

    uvicorn.run(
        app,
        host=os.environ.get("HOST", "0.0.0.0"),
        port=int(port_raw),
        log_config=None,  # our logging setup, so lines are not printed twice
        log_level=os.environ.get("LOG_LEVEL", "info").lower(),
    )


if __name__ == "__main__":
    main()
