"""Docker HEALTHCHECK / Compose healthcheck -> Kubernetes probes."""

import math
import re
import shlex
from typing import Any
from urllib.parse import urlsplit

from .errors import ConvertError
from .quantities import parse_duration, whole_seconds

# Docker's defaults when a healthcheck leaves a timing out
_DEFAULTS = {"interval": 30.0, "timeout": 30.0, "start_period": 0.0, "retries": 3}
_LOCAL_HOSTS = {"localhost", "127.0.0.1", "0.0.0.0", "::1", "[::1]"}
# curl/wget flags that do not change what a GET of the URL means (fail on HTTP errors, quiet...)
_CURL_PLAIN = {
    "-f",
    "--fail",
    "-s",
    "--silent",
    "-S",
    "--show-error",
    "-L",
    "--location",
    "-k",
    "--insecure",
    "-o",
    "--output",
    "-m",
    "--max-time",
    "--connect-timeout",
    "-fs",
    "-sf",
    "-fsS",
    "-sSf",
    "-fsSL",
    "-sfL",
    "-fSs",
    "-sS",
    "-Ss",
    "-q",
}
_WGET_PLAIN = {
    "-q",
    "--quiet",
    "--spider",
    "-O",
    "-O-",
    "-qO-",
    "-qO",
    "-T",
    "--timeout",
    "--no-verbose",
    "-nv",
    "--tries",
    "-t",
    "--no-check-certificate",
    "-S",
}
_TAKES_VALUE = {
    "-o",
    "--output",
    "-m",
    "--max-time",
    "--connect-timeout",
    "-O",
    "-qO",
    "-T",
    "--timeout",
    "--tries",
    "-t",
}


def health_test(test: object, where: str) -> list[str] | None:
    """The test as ["CMD", ...] or ["CMD-SHELL", cmd]; None when disabled (NONE)."""
    if isinstance(test, str):
        return ["CMD-SHELL", test]
    if isinstance(test, list) and test:
        words = [str(w) for w in test]
        if words[0] == "NONE":
            return None
        if words[0] in ("CMD", "CMD-SHELL") and len(words) > 1:
            return words
    raise ConvertError(
        f"{where}: test {test!r} must be a string, [CMD, ...], [CMD-SHELL, cmd] or [NONE]"
    )


_PYTHON_GET = re.compile(
    r"^\s*import urllib\.request\s*;\s*urllib\.request\.urlopen\(\s*['\"]([^'\"]+)['\"]"
    r"\s*(?:,\s*timeout\s*=\s*[\d.]+\s*)?\)\s*;?\s*$"
)


def http_get(test: list[str]) -> dict[str, Any] | None:
    """An httpGet action when the test only GETs a localhost URL: curl, wget, or Python's
    `urllib.request.urlopen(URL)` (all three fail on HTTP errors, as httpGet does)."""
    words = test[1:]
    if test[0] == "CMD" and len(words) == 3 and words[0].rsplit("/", 1)[-1].startswith("python"):
        if words[1] == "-c" and (match := _PYTHON_GET.match(words[2])):
            return _local_url(match.group(1), [])
        return None
    if test[0] == "CMD-SHELL":
        text = test[1].strip()
        for tail in ("|| exit 1", "||exit 1", "|| false"):
            if text.endswith(tail):
                text = text[: -len(tail)].strip()
        if any(c in text for c in "|&;<>`$()"):
            return None
        try:
            words = shlex.split(text)
        except ValueError:
            return None
    else:
        words = test[1:]
    if not words or words[0].rsplit("/", 1)[-1] not in ("curl", "wget"):
        return None
    plain = _CURL_PLAIN if words[0].endswith("curl") else _WGET_PLAIN
    urls: list[str] = []
    headers: list[dict[str, str]] = []
    i = 1
    while i < len(words):
        word = words[i]
        if word in ("-H", "--header") and i + 1 < len(words):
            name, _, value = words[i + 1].partition(":")
            headers.append({"name": name.strip(), "value": value.strip()})
            i += 2
            continue
        if word.startswith("-"):
            flag = word.split("=", 1)[0]
            if flag not in plain and not (flag.startswith("-O") and words[0].endswith("wget")):
                return None  # -X POST, -d, --user...: not a plain GET
            i += 2 if (word in _TAKES_VALUE and "=" not in word) else 1
            continue
        urls.append(word)
        i += 1
    if len(urls) != 1:
        return None
    return _local_url(urls[0], headers)


def _local_url(text: str, headers: list[dict[str, str]]) -> dict[str, Any] | None:
    url = urlsplit(text if "://" in text else "http://" + text)
    if url.scheme not in ("http", "https") or (url.hostname or "") not in _LOCAL_HOSTS:
        return None
    try:
        port = url.port or (443 if url.scheme == "https" else 80)
    except ValueError:
        return None
    action: dict[str, Any] = {
        "path": (url.path or "/") + (f"?{url.query}" if url.query else ""),
        "port": port,
    }
    if url.scheme == "https":
        action["scheme"] = "HTTPS"
    if headers:
        action["httpHeaders"] = headers
    return action


_TCP_TESTS = [
    re.compile(r"^exec 3<>/dev/tcp/(?:localhost|127\.0\.0\.1)/(\d+)$"),
    re.compile(r"^nc -z(?: -w ?\d+)? (?:localhost|127\.0\.0\.1) (\d+)$"),
]


def tcp_socket(test: list[str]) -> dict[str, Any] | None:
    """A tcpSocket action when the test only opens a TCP connection to a local port
    (bash's /dev/tcp or nc -z)."""
    words = test[1:]
    if test[0] == "CMD" and len(words) == 3 and words[0] in ("bash", "/bin/bash", "sh", "/bin/sh"):
        text = words[2] if words[1] == "-c" else ""
    elif test[0] == "CMD-SHELL":
        text = words[0]
    elif test[0] == "CMD":
        text = " ".join(words)
    else:
        return None
    text = text.strip().removesuffix("|| exit 1").strip()
    for pattern in _TCP_TESTS:
        if match := pattern.match(text):
            return {"port": int(match.group(1))}
    return None


def probes(check: dict[str, Any], where: str) -> tuple[dict[str, dict[str, Any]], str]:
    """readiness + liveness probes (and a startup probe for start_period) from a healthcheck.

    Returns the probes by container field name and a sentence on how the action was chosen."""
    test = health_test(check.get("test"), f"{where}.test")
    if test is None:
        return {}, "disabled"
    timing = {k: check.get(k, v) for k, v in _DEFAULTS.items()}
    interval = parse_duration(timing["interval"], f"{where}.interval")
    timeout = parse_duration(timing["timeout"], f"{where}.timeout")
    start = parse_duration(timing["start_period"], f"{where}.start_period")
    try:
        retries = int(timing["retries"])
    except (TypeError, ValueError, OverflowError):
        raise ConvertError(
            f"{where}.retries: {timing['retries']!r} is not a whole number"
        ) from None
    action: dict[str, Any]
    if (get := http_get(test)) is not None:
        action = {"httpGet": get}
        how = (
            f"httpGet {get['path']} on port {get['port']}: the test only fetches a localhost "
            "URL, which kubelet can do without running a process in the container"
        )
    elif (tcp := tcp_socket(test)) is not None:
        action = {"tcpSocket": tcp}
        how = f"tcpSocket on port {tcp['port']}: the test only opens a TCP connection"
    elif test[0] == "CMD":
        action = {"exec": {"command": test[1:]}}
        how = "exec probe running the same command"
    else:
        action = {"exec": {"command": ["/bin/sh", "-c", test[1]]}}
        how = "exec probe running the shell command with /bin/sh -c, like Docker's CMD-SHELL"
    timings = {
        "periodSeconds": whole_seconds(interval),
        "timeoutSeconds": whole_seconds(timeout),
        "failureThreshold": max(1, retries),
    }
    result = {
        "readinessProbe": {**action, **timings},
        "livenessProbe": {**action, **timings},
    }
    if start > 0:
        period = parse_duration(check.get("start_interval", "5s"), f"{where}.start_interval")
        result["startupProbe"] = {
            **action,
            "periodSeconds": whole_seconds(period),
            "timeoutSeconds": whole_seconds(timeout),
            "failureThreshold": max(1, math.ceil(start / max(period, 1.0))) + max(1, retries),
        }
    return result, how
