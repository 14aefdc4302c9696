"""`.env` and env_file parsing, the dotenv dialect `docker compose` reads."""

import re
from collections.abc import Callable, Mapping
from pathlib import Path

from .errors import ConvertError

_KEY = re.compile(r"^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*(=?)(.*)$", re.S)
_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "$": "$"}


def parse_env_file(
    path: Path,
    environ: Mapping[str, str],
    interpolate: Callable[[str, Mapping[str, str]], str] | None = None,
) -> dict[str, str | None]:
    """KEY=VALUE lines; `KEY` alone takes the value from `environ` (None when unset).
    Single quotes are literal; double quotes know \\n escapes; `#` starts a comment
    outside quotes. Values may span lines inside quotes."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConvertError(f"{path}: cannot read the env file ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise ConvertError(
            f"{path}: byte {err.start} is not UTF-8: save the env file as UTF-8"
        ) from None
    result: dict[str, str | None] = {}
    lines = text.splitlines()
    i = 0
    while i < len(lines):
        line, lineno = lines[i], i + 1
        i += 1
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        match = _KEY.match(line)
        if not match:
            raise ConvertError(
                f"{path}:{lineno}: {line.strip()!r} is not KEY=VALUE; fix or remove the line"
            )
        key, equals, rest = match.groups()
        if not equals:
            result[key] = environ.get(key)
            continue
        rest = rest.strip()
        if rest[:1] in ("'", '"'):
            quote = rest[0]
            body = rest[1:]
            while not _closed(body, quote):
                if i >= len(lines):
                    raise ConvertError(f"{path}:{lineno}: unterminated {quote} quote in {key}")
                body += "\n" + lines[i]
                i += 1
            value = _unquote(body, quote)
            if quote == '"' and interpolate:
                value = interpolate(value, {**environ, **_known(result)})
        else:
            value = re.split(r"\s+#", rest, maxsplit=1)[0].strip()
            if interpolate:
                value = interpolate(value, {**environ, **_known(result)})
        result[key] = value
    return result


def _known(values: dict[str, str | None]) -> dict[str, str]:
    return {k: v for k, v in values.items() if v is not None}


def _closed(body: str, quote: str) -> bool:
    escaped = False
    for ch in body:
        if quote == '"' and ch == "\\" and not escaped:
            escaped = True
            continue
        if ch == quote and not escaped:
            return True
        escaped = False
    return False


def _unquote(body: str, quote: str) -> str:
    out: list[str] = []
    chars = iter(body)
    for ch in chars:
        if ch == quote:
            break
        if quote == '"' and ch == "\\":
            nxt = next(chars, "")
            out.append(_ESCAPES.get(nxt, "\\" + nxt))
        else:
            out.append(ch)
    return "".join(out)
