"""Which ports a service listens on: the ones it declares, or, when it declares none (Compose
lets services reach each other on any port), the ports other evidence in the file names."""

import re
from typing import Any

from .names import dns_label, image_base_name
from .report import Report

# Images whose data lives in a volume: with a named volume they become a StatefulSet.
DATABASE_PORTS = {
    "mysql": 3306, "mariadb": 3306, "percona": 3306, "postgres": 5432, "postgis": 5432,
    "timescaledb": 5432, "mongo": 27017, "redis": 6379, "valkey": 6379, "cassandra": 9042,
    "elasticsearch": 9200, "couchdb": 5984, "neo4j": 7687, "influxdb": 8086,
    "clickhouse-server": 8123, "cockroach": 26257, "etcd": 2379, "minio": 9000,
    "qdrant": 6333, "milvus": 19530,
}  # fmt: skip
# Ports well-known images listen on.
WELL_KNOWN_PORTS = {
    **DATABASE_PORTS, "nginx": 80, "httpd": 80, "text-generation-inference": 80,
    "memcached": 11211, "rabbitmq": 5672, "ollama": 11434, "vllm-openai": 8000,
}  # fmt: skip
# Environment variables the official database images read, and the port they imply.
DATABASE_ENV = {"MYSQL_": 3306, "MARIADB_": 3306, "POSTGRES_": 5432, "MONGO_INITDB_": 27017}

_LOCAL = r"(?:localhost|127\.0\.0\.1|0\.0\.0\.0|\[::1\])"
_HEALTH_PORTS = [
    re.compile(rf"https?://{_LOCAL}:(\d+)"),
    re.compile(rf"/dev/tcp/{_LOCAL}/(\d+)"),
    re.compile(rf"\bnc\b[^|;&]*\s{_LOCAL}\s+(\d+)"),
]
_URL_DEFAULT = {"http": 80, "https": 443}


def database_port(svc: dict[str, Any]) -> int | None:
    """The port of a database service: by its image, or by the variables it is given."""
    if (port := DATABASE_PORTS.get(image_base_name(str(svc.get("image") or "")))) is not None:
        return port
    env = svc.get("environment") or {}
    if isinstance(env, dict):
        keys: list[str] = [str(k) for k in env]
    elif isinstance(env, list):
        keys = [str(e).split("=", 1)[0] for e in env]
    else:
        return None  # a wrong shape; the environment handler reports it
    for key in keys:
        for prefix, port in DATABASE_ENV.items():
            if str(key).startswith(prefix):
                return port
    return None


def _text(value: Any) -> str:
    if isinstance(value, dict):
        return " ".join(_text(v) for k, v in value.items() if not str(k).startswith("_"))
    if isinstance(value, list):
        return " ".join(_text(v) for v in value)
    return "" if value is None else str(value)


# A host:port or an http(s) URL without a port, in another service's settings or command.
_HOST_PORT = re.compile(r"(?<![\w.-])([\w.-]+):(\d+)\b")
_URL = re.compile(r"\b(https?)://([\w.-]+)(?![\w.:-])")


def mentions(project_services: dict[str, dict[str, Any]]) -> dict[str, list[tuple[int, str]]]:
    """For each service, the ports other services name it with (URLs, host:port), and why;
    one pass over every service's text, not one per service."""
    found: dict[str, list[tuple[int, str]]] = {}
    for other, spec in project_services.items():
        text = _text([spec.get("environment"), spec.get("command"), spec.get("entrypoint")])
        for match in _HOST_PORT.finditer(text):
            host, port = match.group(1), int(match.group(2))
            if host in project_services and host != other:
                found.setdefault(host, []).append((port, f"{other} connects to {host}:{port}"))
        for match in _URL.finditer(text):
            scheme, host = match.group(1), match.group(2)
            if host in project_services and host != other:
                found.setdefault(host, []).append(
                    (_URL_DEFAULT[scheme], f"{other} calls {match.group(0)}")
                )
    return found


def _evidence(svc: dict[str, Any], mentioned: list[tuple[int, str]]) -> list[tuple[int, str]]:
    """Ports named by this service's healthcheck, or by other services' URLs and host:port."""
    found: list[tuple[int, str]] = []
    healthcheck = svc.get("healthcheck")  # a wrong shape is the healthcheck handler's to report
    health = _text(healthcheck.get("test") if isinstance(healthcheck, dict) else None)
    for pattern in _HEALTH_PORTS:
        for match in pattern.finditer(health):
            found.append((int(match.group(1)), "its healthcheck checks this port"))
    return found + mentioned


def service_ports(
    name: str,
    project_services: dict[str, dict[str, Any]],
    report: Report,
    mentioned: dict[str, list[tuple[int, str]]],
) -> list[dict[str, Any]]:
    """The ports for the service's Service and container: ports + expose (one per container
    port and protocol); without them, the inferred ones, each carrying `_inferred` (why)."""
    svc = project_services[name]
    seen: dict[tuple[int, str], dict[str, Any]] = {}
    for port in [*svc.get("ports", []), *svc.get("expose", [])]:
        key = (port["target"], port["protocol"])
        if key in seen:
            if port.get("published") and seen[key].get("published") not in (
                None,
                port["published"],
            ):
                report.unconverted(
                    name,
                    f"ports: {port['_raw']}",
                    f"container port {port['target']} is already published on "
                    f"{seen[key]['published']}: one Service port per container port",
                )
            continue
        seen[key] = dict(port)
    ports = list(seen.values())
    if not ports and svc.get("network_mode") is None:
        ports = _inferred(svc, mentioned.get(name, []))
    used: set[str] = set()
    for port in ports:
        base = dns_label(str(port.get("name") or ""), 15) if port.get("name") else ""
        port_name = base or f"{port['protocol'].lower()}-{port['target']}"
        n = len(used)
        while port_name in used:  # n grows: a generated name may itself be taken
            port_name = f"p{n}-{port['target']}"[:15]
            n += 1
        used.add(port_name)
        port["k8s_name"] = port_name
    return ports


def _inferred(svc: dict[str, Any], mentioned: list[tuple[int, str]]) -> list[dict[str, Any]]:
    reasons: dict[int, list[str]] = {}
    for port, why in _evidence(svc, mentioned):
        if why not in reasons.setdefault(port, []):
            reasons[port].append(why)
    image = image_base_name(str(svc.get("image") or ""))
    if not reasons and image in WELL_KNOWN_PORTS:
        reasons[WELL_KNOWN_PORTS[image]] = [f"{image} listens on {WELL_KNOWN_PORTS[image]}"]
    if not reasons and (db_port := database_port(svc)) is not None:
        reasons[db_port] = [
            f"its MYSQL_/POSTGRES_/MONGO_ variables say it is a database on {db_port}"
        ]
    return [
        {"target": port, "protocol": "TCP", "_raw": "(inferred)", "_inferred": "; ".join(why)}
        for port, why in sorted(reasons.items())
    ]
