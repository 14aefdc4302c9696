"""Kubernetes objects as YAML: one multi-document stream, or one file per object."""

from pathlib import Path
from typing import Any

import yaml


class _Dumper(yaml.SafeDumper):
    """Block style for multi-line strings, so a ConfigMap holding a file stays readable;
    no &anchors, which kubectl accepts but readers do not expect."""

    def ignore_aliases(self, data: object) -> bool:
        return True


def _str(dumper: yaml.SafeDumper, data: str) -> yaml.ScalarNode:
    if "\n" in data and not any(c in data for c in "\r\t") and data == data.rstrip(" "):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    return dumper.represent_scalar("tag:yaml.org,2002:str", data)


_Dumper.add_representer(str, _str)


def to_yaml(objects: list[dict[str, Any]]) -> str:
    return yaml.dump_all(objects, Dumper=_Dumper, sort_keys=False, explicit_start=True, width=100)


def file_name(obj: dict[str, Any]) -> str:
    return f"{obj['metadata']['name']}-{obj['kind'].lower()}.yaml"


MARK = "app.kubernetes.io/managed-by: docker2k8s"


def write_files(objects: list[dict[str, Any]], directory: Path) -> tuple[list[Path], list[Path]]:
    """One file per object; files of an earlier conversion into the same directory that this
    one does not write again are removed, so `kubectl apply -f DIR` applies no stale object.
    Returns the written and the removed files."""
    directory.mkdir(parents=True, exist_ok=True)
    written = [directory / file_name(obj) for obj in objects]
    removed = []
    for old in sorted(directory.glob("*.yaml")):
        if old not in written and MARK in old.read_text(encoding="utf-8", errors="replace"):
            old.unlink()
            removed.append(old)
    for obj, path in zip(objects, written, strict=True):
        path.write_text(to_yaml([obj]), encoding="utf-8")
    return written, removed
