"""Compose short syntaxes rewritten in their long form, so one converter reads both.

Every list item keeps the text it was written as under the key `_raw`, for the report."""

import re
import shlex
from typing import Any

from .errors import ConvertError

_PORT_SHORT = re.compile(
    r"^(?:(?P<ip>\[[^\]]+\]|[0-9.]+|[0-9a-fA-F:]+(?=:[^:]*:))?:)??"
    r"(?:(?P<published>\d*(?:-\d+)?):)?(?P<target>\d+(?:-\d+)?)(?:/(?P<proto>[a-zA-Z]+))?$"
)


def _range(text: str, where: str) -> list[int]:
    first, _, last = text.partition("-")
    try:
        lo, hi = int(first), int(last or first)
    except ValueError:
        raise ConvertError(f"{where}: {text!r} is not a port or a port range") from None
    if not (0 < lo <= hi <= 65535):
        raise ConvertError(f"{where}: {text!r} is not a port range within 1-65535")
    return list(range(lo, hi + 1))


def _protocol(value: object, where: str) -> str:
    proto = str(value or "tcp").upper()
    if proto not in ("TCP", "UDP", "SCTP"):
        raise ConvertError(f"{where}: protocol {value!r} is not tcp, udp or sctp")
    return proto


def port_short(text: str, where: str) -> list[dict[str, Any]]:
    """`[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]`, ranges allowed on both sides."""
    match = _PORT_SHORT.match(text.strip())
    if not match:
        raise ConvertError(
            f"{where}: {text!r} is not a port mapping; write CONTAINER, HOST:CONTAINER "
            "or IP:HOST:CONTAINER, with an optional /udp"
        )
    targets = _range(match["target"], where)
    published = match["published"] or ""
    hosts: list[int | None] = [None] * len(targets)
    if published:
        hosts = list(_range(published, where))
        if len(hosts) == 1 and len(targets) > 1:
            raise ConvertError(f"{where}: {text!r} maps one host port to a range")
        if len(hosts) != len(targets):
            raise ConvertError(f"{where}: {text!r}: host and container ranges differ in length")
    proto = _protocol(match["proto"], where)
    ip = (match["ip"] or "").strip("[]") or None
    return [
        {
            "target": t,
            "published": str(h) if h is not None else None,
            "host_ip": ip,
            "protocol": proto,
            "_raw": text,
        }
        for t, h in zip(targets, hosts, strict=True)
    ]


def ports(value: object, where: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for i, item in enumerate(_as_list(value, where)):
        here = f"{where}[{i}]"
        if isinstance(item, int | str) and not isinstance(item, bool):
            result.extend(port_short(str(item), here))
        elif isinstance(item, dict):
            if "target" not in item:
                raise ConvertError(f"{here}: a long-syntax port needs `target`")
            targets = _range(str(item["target"]), here)
            published = item.get("published")
            for t in targets:
                result.append(
                    {
                        "target": t,
                        "published": str(published) if published not in (None, "") else None,
                        "host_ip": item.get("host_ip"),
                        "protocol": _protocol(item.get("protocol"), here),
                        "name": item.get("name"),
                        "app_protocol": item.get("app_protocol"),
                        "mode": item.get("mode"),
                        "_raw": _flow(item),
                    }
                )
        else:
            raise ConvertError(f"{here}: {item!r} is not a port (a string, number or mapping)")
    return result


def expose(value: object, where: str) -> list[dict[str, Any]]:
    result: list[dict[str, Any]] = []
    for i, item in enumerate(_as_list(value, where)):
        here = f"{where}[{i}]"
        text = str(item)
        port, _, proto = text.partition("/")
        for t in _range(port, here):
            result.append({"target": t, "protocol": _protocol(proto or "tcp", here), "_raw": text})
    return result


def _is_path(source: str) -> bool:
    return source.startswith(("/", ".", "~")) or bool(re.match(r"^[A-Za-z]:[\\/]", source))


def volume_short(text: str, where: str) -> dict[str, Any]:
    """`[SOURCE:]TARGET[:MODE]`: a path source is a bind mount, a name a named volume."""
    parts = text.split(":")
    if len(parts) == 1:
        return {"type": "volume", "source": None, "target": parts[0], "_raw": text}
    if len(parts) > 3:
        raise ConvertError(f"{where}: {text!r} is not SOURCE:TARGET[:MODE]")
    source, target = parts[0], parts[1]
    modes = parts[2].split(",") if len(parts) == 3 else []
    if not target.startswith("/"):
        raise ConvertError(f"{where}: {text!r}: the container path {target!r} must be absolute")
    known = {"ro", "rw", "z", "Z", "nocopy", "cached", "delegated", "consistent"}
    known |= {"shared", "slave", "private", "rshared", "rslave", "rprivate"}
    for mode in modes:
        if mode not in known:
            raise ConvertError(f"{where}: {text!r}: unknown mount option {mode!r}")
    entry: dict[str, Any] = {
        "type": "bind" if _is_path(source) else "volume",
        "source": source,
        "target": target,
        "read_only": "ro" in modes,
        "_raw": text,
    }
    extra = [m for m in modes if m not in ("ro", "rw")]
    if extra:
        entry["_options"] = extra
    if entry["type"] == "bind":
        entry["bind"] = {"create_host_path": True}
    return entry


def volumes(value: object, where: str) -> list[dict[str, Any]]:
    result = []
    for i, item in enumerate(_as_list(value, where)):
        here = f"{where}[{i}]"
        if isinstance(item, str):
            result.append(volume_short(item, here))
        elif isinstance(item, dict):
            if "type" not in item or "target" not in item:
                raise ConvertError(f"{here}: a long-syntax volume needs `type` and `target`")
            entry = dict(item)
            entry["read_only"] = as_bool(item.get("read_only", False), f"{here}.read_only")
            entry["_raw"] = _flow(item)
            result.append(entry)
        else:
            raise ConvertError(f"{here}: {item!r} is not a volume (a string or a mapping)")
    return result


def mount_flag(text: str, where: str) -> dict[str, Any]:
    """`docker run --mount type=volume,source=x,target=/data,readonly`."""
    fields: dict[str, str] = {}
    for part in text.split(","):
        key, sep, val = part.partition("=")
        fields[key.strip().lower()] = val if sep else "true"
    kind = fields.pop("type", "volume")
    target = (
        fields.pop("target", None) or fields.pop("dst", None) or fields.pop("destination", None)
    )
    if not target:
        raise ConvertError(f"{where}: --mount {text!r} needs target=/path")
    source = fields.pop("source", None) or fields.pop("src", None)
    read_only = False
    for key in ("readonly", "ro"):
        if key in fields:
            read_only = fields.pop(key).lower() in ("true", "1", "")
    entry: dict[str, Any] = {
        "type": kind,
        "source": source,
        "target": target,
        "read_only": read_only,
        "_raw": text,
    }
    if kind == "tmpfs" and "tmpfs-size" in fields:
        entry["tmpfs"] = {"size": fields.pop("tmpfs-size")}
    if kind == "volume" and "volume-subpath" in fields:
        entry["volume"] = {"subpath": fields.pop("volume-subpath")}
    if kind == "bind":
        entry["bind"] = {"create_host_path": False}
    if fields:
        entry["_options"] = [f"{k}={v}" for k, v in fields.items()]
    return entry


def mapping(value: object, where: str, sep: str = "=") -> dict[str, str | None]:
    """A list of KEY=VALUE strings or a mapping (environment, labels, sysctls...)."""
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): _scalar(v) for k, v in value.items()}
    if isinstance(value, list):
        result: dict[str, str | None] = {}
        for item in value:
            if isinstance(item, dict | list):
                raise ConvertError(f"{where}: {item!r} is not a KEY{sep}VALUE string")
            key, has, val = str(item).partition(sep)
            result[key.strip()] = val if has else None
        return result
    raise ConvertError(f"{where}: expected a list of KEY{sep}VALUE or a mapping, got {value!r}")


def _scalar(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def command(value: object, where: str) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str):
        try:
            return shlex.split(value)
        except ValueError as err:
            raise ConvertError(f"{where}: cannot split {value!r} into words: {err}") from None
    if isinstance(value, list):
        return [str(v) for v in value]
    raise ConvertError(f"{where}: expected a string or a list, got {value!r}")


def depends_on(value: object, where: str) -> dict[str, dict[str, Any]]:
    if value is None:
        return {}
    if isinstance(value, list):
        return {str(v): {"condition": "service_started", "required": True} for v in value}
    if isinstance(value, dict):
        result = {}
        for name, spec in value.items():
            spec = spec or {}
            condition = spec.get("condition", "service_started")
            allowed = ("service_started", "service_healthy", "service_completed_successfully")
            if condition not in allowed:
                raise ConvertError(
                    f"{where}.{name}.condition: {condition!r} is not one of {', '.join(allowed)}"
                )
            result[str(name)] = {"condition": condition, "required": spec.get("required", True)}
        return result
    raise ConvertError(f"{where}: expected a list of service names or a mapping")


def file_refs(value: object, where: str) -> list[dict[str, Any]]:
    """Service-level `secrets:` / `configs:`, short (a name) or long (source, target...)."""
    result = []
    for i, item in enumerate(_as_list(value, where)):
        if isinstance(item, str):
            result.append({"source": item, "_raw": item})
        elif isinstance(item, dict) and "source" in item:
            result.append({**item, "_raw": _flow(item)})
        else:
            raise ConvertError(f"{where}[{i}]: expected a name or a mapping with `source`")
    return result


def string_list(value: object, where: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [str(v) for v in value]
    raise ConvertError(f"{where}: expected a string or a list of strings, got {value!r}")


def _as_list(value: object, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ConvertError(f"{where}: expected a list, got {value!r}")
    return value


def as_bool(value: object, where: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).lower()
    if text in ("true", "yes", "1"):
        return True
    if text in ("false", "no", "0"):
        return False
    raise ConvertError(f"{where}: {value!r} is not true or false")


def _flow(item: object) -> str:
    """A mapping as compact YAML flow text, for the report."""
    if isinstance(item, dict):
        pairs = (f"{k}: {_flow(v)}" for k, v in item.items() if not str(k).startswith("_"))
        return "{" + ", ".join(pairs) + "}"
    if isinstance(item, list):
        return "[" + ", ".join(_flow(v) for v in item) + "]"
    return str(item)
