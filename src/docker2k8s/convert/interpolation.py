"""Compose variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
`${VAR:?error}`, `${VAR?error}`, `${VAR:+alt}`, `${VAR+alt}`, nesting, and `$$` for a `$`."""

import re
from collections.abc import Callable, Mapping

from .errors import ConvertError

_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_BRACED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])(.*))?$", re.S)


def interpolate(
    text: str,
    environ: Mapping[str, str],
    where: str = "",
    on_unset: Callable[[str], None] | None = None,
) -> str:
    """Substitute variables in one string value the way `docker compose` does."""
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch != "$":
            out.append(ch)
            i += 1
            continue
        nxt = text[i + 1 : i + 2]
        if nxt == "$":
            out.append("$")
            i += 2
        elif nxt == "{":
            end = _closing_brace(text, i + 2)
            if end < 0:
                raise ConvertError(
                    f"{where}: invalid interpolation {text[i:]!r}: a '${{' has no closing '}}'"
                )
            out.append(_resolve(text[i + 2 : end], environ, where, on_unset))
            i = end + 1
        elif match := _NAME.match(text, i + 1):
            name = match.group(0)
            out.append(_lookup(name, environ, on_unset))
            i = match.end()
        else:
            out.append("$")
            i += 1
    return "".join(out)


def _closing_brace(text: str, start: int) -> int:
    depth = 1
    i = start
    while i < len(text):
        if text.startswith("${", i):
            depth += 1
            i += 2
            continue
        if text[i] == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    return -1


def _lookup(name: str, environ: Mapping[str, str], on_unset: Callable[[str], None] | None) -> str:
    if name in environ:
        return environ[name]
    if on_unset:
        on_unset(name)
    return ""


def _resolve(
    body: str, environ: Mapping[str, str], where: str, on_unset: Callable[[str], None] | None
) -> str:
    match = _BRACED.match(body)
    if not match:
        raise ConvertError(
            f"{where}: invalid interpolation format ${{{body}}}: "
            "write ${VAR}, ${VAR:-default}, ${VAR-default} or ${VAR:?error}"
        )
    name, op, arg = match.groups()
    if op is None:
        return _lookup(name, environ, on_unset)
    value = environ.get(name)
    empty = value is None or (op.startswith(":") and value == "")

    def nested() -> str:
        return interpolate(arg or "", environ, where, on_unset)

    kind = op[-1]
    if kind == "-":
        return nested() if empty else str(value)
    if kind == "+":
        return "" if empty else nested()
    # kind == "?": a required variable
    if empty:
        message = nested() or "is not set"
        state = "unset or empty" if op == ":?" else "unset"
        raise ConvertError(
            f"{where}: required variable {name} is {state}: {message}. "
            f"Set {name} in the environment or in the .env file next to the compose file"
        )
    return str(value)


def interpolate_tree(
    node: object,
    environ: Mapping[str, str],
    where: str,
    on_unset: Callable[[str], None] | None = None,
) -> object:
    """Interpolate every string value (never a mapping key) of a parsed YAML tree."""
    if isinstance(node, str):
        return interpolate(node, environ, where, on_unset)
    if isinstance(node, dict):
        return {
            k: interpolate_tree(v, environ, f"{where}.{k}" if where else str(k), on_unset)
            for k, v in node.items()
        }
    if isinstance(node, list):
        return [interpolate_tree(v, environ, f"{where}[{i}]", on_unset) for i, v in enumerate(node)]
    return node
