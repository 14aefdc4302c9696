"""Merging several Compose files (`-f compose.yaml -f compose.cpu.yaml`) by the Compose
specification's rules: mappings merge, sequences append, command/entrypoint/healthcheck.test
are replaced, ports/volumes/secrets/configs merge by their unique key, `!reset` removes and
`!override` replaces."""

from dataclasses import dataclass
from typing import Any

from . import normalize


class Reset:
    """`!reset`: the value is removed."""


RESET = Reset()


@dataclass
class Override:
    """`!override VALUE`: the value replaces the earlier one without merging."""

    value: Any


_REPLACED = {"command", "entrypoint", "test"}
_MAPPINGS = {"environment", "labels", "annotations", "sysctls", "args", "extra_hosts"}


def _unique_key(key: str, item: Any, where: str) -> Any:
    if key == "volumes":
        return normalize.volumes([item], where)[0]["target"]
    if key in ("secrets", "configs"):
        ref = normalize.file_refs([item], where)[0]
        default = f"/run/secrets/{ref['source']}" if key == "secrets" else f"/{ref['source']}"
        return ref.get("target") or default
    if key == "ports":
        port = normalize.ports([item], where)[0]
        return (port.get("host_ip"), port["target"], port.get("published"), port["protocol"])
    return None


def merge(base: Any, override: Any, key: str = "", where: str = "") -> Any:
    if isinstance(override, Override):
        return resolve(override.value)
    if isinstance(base, dict) and isinstance(override, dict):
        out = dict(base)
        for k, v in override.items():
            if isinstance(v, Reset):
                out.pop(k, None)
            elif k in out:
                out[k] = merge(out[k], v, str(k), f"{where}.{k}" if where else str(k))
            else:
                out[k] = resolve(v)
        return out
    if key in _MAPPINGS and isinstance(base, list | dict) and isinstance(override, list | dict):
        sep = ":" if key == "extra_hosts" else "="
        return {**normalize.mapping(base, where, sep), **normalize.mapping(override, where, sep)}
    if isinstance(base, list) and isinstance(override, list) and key not in _REPLACED:
        if key in ("ports", "volumes", "secrets", "configs"):
            merged: dict[Any, Any] = {}
            for i, item in enumerate([*base, *resolve(override)]):
                unique = _unique_key(key, item, f"{where}[{i}]")
                merged[unique if unique is not None else ("#", i)] = item
            return list(merged.values())
        return [*base, *resolve(override)]
    return resolve(override)


def resolve(node: Any) -> Any:
    """Drop `!reset` values and unwrap `!override` ones (for a single file, or after merging)."""
    if isinstance(node, Override):
        return resolve(node.value)
    if isinstance(node, dict):
        return {k: resolve(v) for k, v in node.items() if not isinstance(v, Reset)}
    if isinstance(node, list):
        return [resolve(v) for v in node if not isinstance(v, Reset)]
    return node


def merge_all(trees: list[Any]) -> Any:
    result = resolve(trees[0])
    for tree in trees[1:]:
        result = merge(result, tree)
    return result
