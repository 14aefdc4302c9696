"""Shared checks for the converter tests: the pinned release's schemas, name rules, references
between objects, and golden files (regenerate with D2K_UPDATE_GOLDENS=1, then review)."""

import os
import re
import secrets
from pathlib import Path
from typing import Any

import schemas

from docker2k8s.convert import Result, to_yaml
from docker2k8s.paths import REPO_ROOT

HERE = Path(__file__).parent
GOLDEN = HERE / "golden"
FIXTURES = HERE / "fixtures"
UPDATE = os.environ.get("D2K_UPDATE_GOLDENS") == "1"

_LABEL = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
_SUBDOMAIN = re.compile(r"^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$")
_PORT_NAME = re.compile(r"^(?=.*[a-z])[a-z0-9]([-a-z0-9]*[a-z0-9])?$")
WORKLOADS = ("Deployment", "StatefulSet", "Pod")


def pod_spec(obj: dict[str, Any]) -> dict[str, Any]:
    return obj["spec"] if obj["kind"] == "Pod" else obj["spec"]["template"]["spec"]


def pod_labels(obj: dict[str, Any]) -> dict[str, str]:
    return (
        obj["metadata"]["labels"]
        if obj["kind"] == "Pod"
        else obj["spec"]["template"]["metadata"]["labels"]
    )


def workload(objects: list[dict[str, Any]], name: str | None = None) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] in WORKLOADS]
    if name is not None:
        found = [o for o in found if o["metadata"]["name"] == name]
    assert len(found) == 1, f"expected one workload {name or ''}, got {[o['kind'] for o in found]}"
    return found[0]


def container(objects: list[dict[str, Any]], name: str | None = None) -> dict[str, Any]:
    return pod_spec(workload(objects, name))["containers"][0]


def get(objects: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    found = [o for o in objects if o["kind"] == kind and o["metadata"]["name"] == name]
    assert found, f"no {kind} {name} in {[(o['kind'], o['metadata']['name']) for o in objects]}"
    return found[0]


def check_objects(objects: list[dict[str, Any]], external: frozenset[str] = frozenset()) -> None:
    """Every object passes the pinned release's strict schema, has valid names, and every
    reference (Service selector, volume, ConfigMap/Secret/PVC) points at an object of the
    output (or a name in `external`, for Compose `external: true`)."""
    assert objects, "no objects"
    names = {(o["kind"], o["metadata"]["name"]) for o in objects}
    assert len(names) == len(objects), "two objects share a kind and name"
    for obj in objects:
        schemas.validate(obj)
        name = obj["metadata"]["name"]
        rule = _LABEL if obj["kind"] in (*WORKLOADS, "Service") else _SUBDOMAIN
        assert rule.match(name) and len(name) <= 63, f"{obj['kind']} name {name!r} is invalid"
        if obj["kind"] not in WORKLOADS:
            continue
        spec = pod_spec(obj)
        volumes = {v["name"] for v in spec.get("volumes", [])}
        templates = {t["metadata"]["name"] for t in obj["spec"].get("volumeClaimTemplates", [])}
        for c in spec.get("initContainers", []) + spec["containers"]:
            assert _LABEL.match(c["name"]), f"container name {c['name']!r}"
            for m in c.get("volumeMounts", []):
                assert m["name"] in volumes | templates, f"mount of unknown volume {m['name']}"
            for p in c.get("ports", []):
                assert _PORT_NAME.match(p["name"]) and len(p["name"]) <= 15, p["name"]
            for e in c.get("env", []):
                ref = e.get("valueFrom", {}).get("secretKeyRef")
                if ref:
                    secret = get(objects, "Secret", ref["name"])
                    assert ref["key"] in {**secret.get("data", {}), **secret.get("stringData", {})}
            for source in c.get("envFrom", []):
                kind, ref = ("ConfigMap", "configMapRef") if "configMapRef" in source else (
                    "Secret", "secretRef")  # fmt: skip
                get(objects, kind, source[ref]["name"])
        for v in spec.get("volumes", []):
            assert _LABEL.match(v["name"]), f"volume name {v['name']!r}"
            if "persistentVolumeClaim" in v:
                claim = v["persistentVolumeClaim"]["claimName"]
                if claim not in external:
                    get(objects, "PersistentVolumeClaim", claim)
            if "configMap" in v and v["configMap"]["name"] not in external:
                get(objects, "ConfigMap", v["configMap"]["name"])
            if "secret" in v and v["secret"]["secretName"] not in external:
                get(objects, "Secret", v["secret"]["secretName"])
    for svc in (o for o in objects if o["kind"] == "Service"):
        selector = svc["spec"]["selector"]
        targets = [
            o for o in objects
            if o["kind"] in WORKLOADS and selector.items() <= pod_labels(o).items()
        ]  # fmt: skip
        assert targets, f"Service {svc['metadata']['name']} selects no workload"
        for port in svc["spec"].get("ports", []):
            exposed = {p["containerPort"] for o in targets for c in pod_spec(o)["containers"]
                       for p in c.get("ports", [])}  # fmt: skip
            assert port["targetPort"] in exposed, f"targetPort {port['targetPort']} not declared"


def course_stack(directory: Path, *names: str) -> list[Path]:
    """Copies of the course's apps/ compose files in `directory`, with the two password files
    that apps/secrets/create.sh would make; returns the copied files' paths."""
    apps = REPO_ROOT / "apps"
    paths = []
    for name in names:
        assert (apps / name).exists(), f"apps/{name} is missing: the running example belongs there"
        (directory / name).write_text((apps / name).read_text())
        paths.append(directory / name)
    (directory / "secrets").mkdir()
    for secret in ("db_password", "db_root_password"):
        (directory / "secrets" / f"{secret}.secret").write_text(secrets.token_urlsafe(12))
    return paths


def render(result: Result, replace: dict[str, str] | None = None) -> str:
    """The golden text: the report as comments, then the YAML stream."""
    lines = ["# docker2k8s report (outcome | source | input | became | why)"]
    for e in result.report.entries:
        lines.append(f"# {e.outcome} | {e.source} | {e.field} | {e.became} | {e.why}")
    text = "\n".join(lines) + "\n" + to_yaml(result.objects)
    for old, new in (replace or {}).items():
        text = text.replace(old, new)
    return text


def check_golden(name: str, result: Result, replace: dict[str, str] | None = None) -> None:
    path = GOLDEN / f"{name}.yaml"
    text = render(result, {str(FIXTURES): "<fixtures>", **(replace or {})})
    if UPDATE:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.exists(), (
        f"no golden file {path.name}: run `D2K_UPDATE_GOLDENS=1 .venv/bin/pytest tests/convert` "
        "and review the new file by hand"
    )
    expected = path.read_text(encoding="utf-8")
    assert text == expected, (
        f"{path.name} differs from the output; if the change is intended, regenerate with "
        "D2K_UPDATE_GOLDENS=1 and review `git diff tests/convert/golden`"
    )
