"""Docker sizes, durations and CPU counts, and their Kubernetes quantity spellings."""

import math
import re

from .errors import ConvertError

_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgtp]?)i?b?\s*$", re.IGNORECASE)
_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_DURATION_SECONDS = {"ns": 1e-9, "us": 1e-6, "µs": 1e-6, "ms": 1e-3, "s": 1, "m": 60, "h": 3600}


def parse_bytes(value: object, what: str) -> int:
    """Docker's byte sizes: `1g`, `512m`, `1gb`, `1024` (units are powers of 1024, like Docker)."""
    if isinstance(value, bool):
        raise ConvertError(f"{what}: {value!r} is not a size; write e.g. 512m or 1g")
    if isinstance(value, int):
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise ConvertError(f"{what}: {value!r} is not a size; write e.g. 512m or 1g")
    number, unit = match.groups()
    return int(float(number) * _UNITS[unit.lower()])


def quantity_from_bytes(size: int) -> str:
    """The shortest exact Kubernetes binary quantity: 1073741824 -> 1Gi."""
    for suffix, factor in (("Pi", 1 << 50), ("Ti", 1 << 40), ("Gi", 1 << 30), ("Mi", 1 << 20)):
        if size >= factor and size % factor == 0:
            return f"{size // factor}{suffix}"
    if size >= 1024 and size % 1024 == 0:
        return f"{size // 1024}Ki"
    return str(size)


def parse_duration(value: object, what: str) -> float:
    """A Go duration (`1m30s`, `500ms`) as seconds; a bare number counts as seconds."""
    if isinstance(value, bool):
        raise ConvertError(f"{what}: {value!r} is not a duration; write e.g. 10s or 1m30s")
    text = str(value).strip()
    if isinstance(value, int | float) or re.fullmatch(r"\d+(\.\d+)?", text):
        seconds = float(value) if isinstance(value, int | float) else float(text)
    elif not text or _DURATION_PART.sub("", text) != "":
        raise ConvertError(f"{what}: {value!r} is not a duration; write e.g. 10s or 1m30s")
    else:
        seconds = sum(float(n) * _DURATION_SECONDS[u] for n, u in _DURATION_PART.findall(text))
    if not math.isfinite(seconds) or not 0 <= seconds < 10**9:
        raise ConvertError(f"{what}: {value!r} is not a duration a probe can wait; write e.g. 10s")
    return seconds


def whole_seconds(seconds: float) -> int:
    """Probe timings are whole seconds in Kubernetes, at least 1: round up, never to 0."""
    return max(1, math.ceil(seconds - 1e-9))


def parse_cpus(value: object, what: str) -> str:
    """Docker's `--cpus 1.5` as the Kubernetes CPU quantity `1500m`."""
    try:
        cpus = float(str(value))
    except ValueError:
        raise ConvertError(
            f"{what}: {value!r} is not a number of CPUs; write e.g. 0.5 or 2"
        ) from None
    if not math.isfinite(cpus) or cpus > 1_000_000:
        raise ConvertError(f"{what}: {value!r} is not a number of CPUs a machine has")
    if cpus <= 0:
        raise ConvertError(f"{what}: {value!r} must be more than 0 CPUs")
    millis = round(cpus * 1000)
    return str(millis // 1000) if millis % 1000 == 0 else f"{millis}m"
