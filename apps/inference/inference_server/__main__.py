"""`python -m inference_server --model-id ... --port ...`: flags and env vars named like TGI's."""

from __future__ import annotations

import argparse
import logging
import os
import re
import sys
from pathlib import Path

from .app import Settings, build_app

_MODEL_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(/[A-Za-z0-9][A-Za-z0-9._-]*)?$")


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        sys.exit(f"error: environment variable {name}={raw!r} must be an integer")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    p = argparse.ArgumentParser(
        prog="inference_server",
        description="Text-generation server with the TGI HTTP API and a tiny CPU model.",
    )
    p.add_argument(
        "--model-id",
        default=os.environ.get("MODEL_ID", "docker2k8s/tiny-ngram"),
        help="model name; its files live in DATA_DIR/<model-id> (env MODEL_ID)",
    )
    p.add_argument(
        "--hostname",
        default=os.environ.get("HOSTNAME_BIND", "0.0.0.0"),
        help="address to listen on",
    )
    p.add_argument(
        "--port",
        type=int,
        default=_env_int("PORT", 3000),
        help="port to listen on (env PORT; the image sets 80 like TGI's image)",
    )
    p.add_argument(
        "--data-dir",
        default=os.environ.get("DATA_DIR", "/data"),
        help="model cache directory, usually a volume (env DATA_DIR)",
    )
    p.add_argument(
        "--max-concurrent-requests",
        type=int,
        default=_env_int("MAX_CONCURRENT_REQUESTS", 128),
        help="requests in flight before answering 429 (env MAX_CONCURRENT_REQUESTS)",
    )
    p.add_argument("--max-input-tokens", type=int, default=_env_int("MAX_INPUT_TOKENS", 1024))
    p.add_argument("--max-total-tokens", type=int, default=_env_int("MAX_TOTAL_TOKENS", 2048))
    p.add_argument(
        "--max-batch-size",
        type=int,
        default=_env_int("MAX_BATCH_SIZE", 4),
        help="requests generated at once; the others wait in the queue",
    )
    p.add_argument(
        "--load-delay",
        type=float,
        default=float(os.environ.get("LOAD_DELAY_SECONDS", "0") or 0),
        help="seconds to wait before loading, to practise startup probes (env LOAD_DELAY_SECONDS)",
    )
    p.add_argument(
        "--token-delay-ms",
        type=float,
        default=float(os.environ.get("TOKEN_DELAY_MS", "20") or 0),
        help="pause per generated token, so streaming is visible (env TOKEN_DELAY_MS)",
    )
    p.add_argument(
        "--token-cpu-ms",
        type=float,
        default=float(os.environ.get("TOKEN_CPU_MS", "0") or 0),
        help="CPU time each generated token costs, as on a CPU-only server; a GPU's work is "
        "--token-delay-ms, which waits instead (env TOKEN_CPU_MS)",
    )
    p.add_argument(
        "--drain-file",
        default=os.environ.get("DRAIN_FILE") or None,
        help="while this file exists, /health answers 503 and a readiness probe takes the "
        "server out of rotation; requests are still served (env DRAIN_FILE; the image sets "
        "/tmp/drain)",
    )
    p.add_argument(
        "--model-store-url",
        default=os.environ.get("MODEL_STORE_URL") or None,
        help="when the model files are absent, fetch <url>/<model-id>/{config,model}.json "
        "instead of training them (env MODEL_STORE_URL)",
    )
    p.add_argument(
        "--payload-limit",
        type=int,
        default=_env_int("PAYLOAD_LIMIT", 2_000_000),
        help="largest request body in bytes; larger ones get 413 (env PAYLOAD_LIMIT)",
    )
    p.add_argument("--log-level", default=os.environ.get("LOG_LEVEL", "info"))
    args = p.parse_args(argv)
    if not _MODEL_ID_RE.match(args.model_id):
        p.error(
            f"--model-id {args.model_id!r} must look like 'name' or 'org/name' "
            "(letters, digits, '.', '_', '-')"
        )
    if args.max_input_tokens >= args.max_total_tokens:
        p.error(
            "--max-input-tokens must be < --max-total-tokens "
            f"(given {args.max_input_tokens} and {args.max_total_tokens})"
        )
    for flag in ("max_concurrent_requests", "max_input_tokens", "max_batch_size", "payload_limit"):
        if getattr(args, flag) <= 0:
            p.error(f"--{flag.replace('_', '-')} must be a positive integer")
    if args.token_cpu_ms < 0:
        p.error(f"--token-cpu-ms must be 0 or more, not {args.token_cpu_ms}")
    if not 0 < args.port < 65536:
        p.error(f"--port {args.port} is not a TCP port (1-65535)")
    return args


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    settings = Settings(
        model_id=args.model_id,
        data_dir=Path(args.data_dir),
        max_concurrent_requests=args.max_concurrent_requests,
        max_input_tokens=args.max_input_tokens,
        max_total_tokens=args.max_total_tokens,
        max_batch_size=args.max_batch_size,
        load_delay=args.load_delay,
        token_delay=args.token_delay_ms / 1000.0,
        token_cpu=args.token_cpu_ms / 1000.0,
        drain_file=Path(args.drain_file) if args.drain_file else None,
        model_store_url=args.model_store_url,
        payload_limit=args.payload_limit,
    )
    import uvicorn  # imported late so `--help` works without the server stack

    logging.getLogger("inference").info(
        "starting %s on %s:%d (model dir %s)",
        settings.model_id,
        args.hostname,
        args.port,
        settings.data_dir / settings.model_id,
    )
    uvicorn.run(
        build_app(settings),
        host=args.hostname,
        port=args.port,
        log_config=None,  # our logging setup, so lines are not printed twice
        log_level=args.log_level.lower(),
        access_log=False,
    )


if __name__ == "__main__":
    main()
