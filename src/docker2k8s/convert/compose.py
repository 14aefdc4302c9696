"""Load a Compose file the way `docker compose` reads it: interpolation from the environment
and the .env file next to it, profiles, short and long syntaxes, x- extensions ignored."""

import difflib
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from . import normalize
from .envfiles import parse_env_file
from .errors import ConvertError
from .interpolation import interpolate, interpolate_tree
from .merge import RESET, Override, Reset, merge_all
from .names import dns_label
from .project import Project
from .report import Report

TOP_LEVEL_KEYS = {
    "version", "name", "include", "services", "networks", "volumes", "secrets", "configs",
    "models",
}  # fmt: skip
SERVICE_KEYS = {
    "annotations", "attach", "blkio_config", "build", "cap_add", "cap_drop", "cgroup",
    "cgroup_parent", "command", "configs", "container_name", "cpu_count", "cpu_percent",
    "cpu_period", "cpu_quota", "cpu_rt_period", "cpu_rt_runtime", "cpu_shares", "cpus", "cpuset",
    "credential_spec", "depends_on", "deploy", "develop", "device_cgroup_rules", "devices", "dns",
    "dns_opt", "dns_search", "domainname", "entrypoint", "env_file", "environment", "expose",
    "extends", "external_links", "extra_hosts", "gpus", "group_add", "healthcheck", "hostname",
    "image", "init", "ipc", "isolation", "label_file", "labels", "links", "logging",
    "mac_address", "mem_limit", "mem_reservation", "mem_swappiness", "memswap_limit", "models",
    "network_mode", "networks", "oom_kill_disable", "oom_score_adj", "pid", "pids_limit",
    "platform", "ports", "post_start", "pre_stop", "privileged", "profiles", "provider",
    "pull_policy", "pull_refresh_after", "read_only", "restart", "runtime", "scale", "secrets",
    "security_opt", "shm_size", "stdin_open", "stop_grace_period", "stop_signal", "storage_opt",
    "sysctls", "tmpfs", "tty", "ulimits", "use_api_socket", "user", "userns_mode", "uts",
    "volumes", "volumes_from", "working_dir",
}  # fmt: skip
NESTED_KEYS = {
    "deploy": {
        "endpoint_mode", "labels", "mode", "placement", "replicas", "resources",
        "restart_policy", "rollback_config", "update_config",
    },
    "healthcheck": {"disable", "interval", "retries", "start_interval", "start_period", "test",
                    "timeout"},
}  # fmt: skip
VOLUME_KEYS = {"driver", "driver_opts", "external", "labels", "name"}
FILE_KEYS = {"driver", "driver_opts", "environment", "external", "file", "labels", "name",
             "template_driver", "content"}  # fmt: skip


# A document whose aliases expand to more nodes than this is refused: a few hundred bytes of
# nested aliases (a "billion laughs") would otherwise take minutes and gigabytes to walk.
MAX_EXPANDED_NODES = 1_000_000


class _ComposeLoader(yaml.SafeLoader):
    """YAML with Compose's merge tags: `!reset` clears a value, `!override` replaces it.
    A key given twice in one mapping is an error, as in Compose (not: the last one wins)."""

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict:
        seen: dict[object, yaml.Node] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # `<<: *base` brings keys the mapping may override
            key = self.construct_object(key_node, deep=deep)  # type: ignore[no-untyped-call]
            if not isinstance(key, str | int | float | bool) or key is None:
                continue  # SafeLoader names an unhashable key itself
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"the key {key!r} appears twice in one mapping", key_node.start_mark
                )
            seen[key] = key_node
        return super().construct_mapping(node, deep=deep)


def _expanded_size(node: yaml.Node, sizes: dict[int, int]) -> int:
    """How many nodes `node` stands for with every alias written out (shared nodes counted once
    per use), computed once per node."""
    if id(node) not in sizes:
        children: list[yaml.Node] = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [n for pair in node.value for n in pair]
        sizes[id(node)] = 1 + sum(_expanded_size(child, sizes) for child in children)
    return sizes[id(node)]


def _reset(loader: yaml.SafeLoader, node: yaml.Node) -> Reset:
    return RESET


def _override(loader: yaml.SafeLoader, node: yaml.Node) -> Override:
    if isinstance(node, yaml.MappingNode):
        return Override(loader.construct_mapping(node, deep=True))
    if isinstance(node, yaml.SequenceNode):
        return Override(loader.construct_sequence(node, deep=True))
    return Override(loader.construct_scalar(node))  # type: ignore[arg-type]


_ComposeLoader.add_constructor("!reset", _reset)
_ComposeLoader.add_constructor("!override", _override)


def load_yaml(path: Path) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as err:
        raise ConvertError(f"{path}: cannot read the compose file ({err.strerror})") from None
    except UnicodeDecodeError as err:
        raise ConvertError(
            f"{path}: byte {err.start} is not UTF-8; Compose files are UTF-8: save it as UTF-8"
        ) from None
    try:
        loader = _ComposeLoader(text)
        try:
            root = loader.get_single_node()
            if root is not None and _expanded_size(root, {}) > MAX_EXPANDED_NODES:
                raise ConvertError(
                    f"{path}: its aliases expand to more than {MAX_EXPANDED_NODES:,} nodes "
                    "(aliases nested in aliases); write the repeated parts out, or fewer levels"
                )
            return loader.construct_document(root) if root is not None else None
        finally:
            loader.dispose()
    except RecursionError:
        raise ConvertError(f"{path}: nested too deeply to read") from None
    except yaml.YAMLError as err:
        mark = getattr(err, "problem_mark", None)
        where = f"{path}:{mark.line + 1}:{mark.column + 1}" if mark else str(path)
        problem = getattr(err, "problem", None) or str(err)
        raise ConvertError(f"{where}: invalid YAML: {problem}") from None


def project_environment(base_dir: Path, environ: Mapping[str, str]) -> dict[str, str]:
    """The process environment over the .env file next to the compose file (Compose's order)."""
    dotenv = base_dir / ".env"
    values: dict[str, str] = {}
    if dotenv.is_file():
        parsed = parse_env_file(dotenv, environ, lambda s, e: interpolate(s, e, str(dotenv)))
        values = {k: v for k, v in parsed.items() if v is not None}
    return {**values, **environ}


def load_compose(
    paths: Path | list[Path],
    report: Report,
    profiles: list[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Project:
    """One Compose file, or several merged in order (like `docker compose -f A -f B`); the
    first file's directory is the project directory (its .env, relative paths, name)."""
    files = [paths] if isinstance(paths, Path) else list(paths)
    if not files:
        raise ConvertError("no compose file given")
    trees = []
    for file in files:
        if not file.exists():
            raise ConvertError(f"{file}: no such compose file")
        tree = load_yaml(file)
        if not isinstance(tree, dict):
            raise ConvertError(f"{file}: a compose file is a mapping with a `services:` key")
        trees.append(tree)
    path = files[0].resolve()
    base_dir = path.parent
    env = project_environment(base_dir, dict(os.environ if environ is None else environ))
    raw = merge_all(trees)
    for extra in files[1:]:
        report.note("compose file", f"-f {extra}", f"merged over {files[0]} by Compose's rules")
    unset: set[str] = set()

    def on_unset(name: str) -> None:
        if name not in unset:
            unset.add(name)
            report.warn(
                "compose file",
                f"${{{name}}}",
                '""',
                f"the {name} variable is not set; it defaults to a blank string, as in Compose",
            )

    data = interpolate_tree(raw, env, "", on_unset)
    assert isinstance(data, dict)
    for key in data:
        if str(key).startswith("x-"):
            continue
        if key not in TOP_LEVEL_KEYS:
            report.warn(
                "compose file",
                str(key),
                "-",
                f"unknown top-level key {key!r}: ignored{_did_you_mean(str(key), TOP_LEVEL_KEYS)}",
            )
        elif key == "version":
            report.note("compose file", "version", "obsolete in the Compose specification")
        elif key in ("include", "models"):
            report.unconverted(
                "compose file",
                str(key),
                "not followed: flatten the project first with `docker compose config`",
            )
    services = data.get("services")
    if not isinstance(services, dict) or not services:
        raise ConvertError(f"{path}: no services: a compose file needs a `services:` mapping")
    active = set(profiles or []) | {
        p.strip() for p in env.get("COMPOSE_PROFILES", "").split(",") if p.strip()
    }
    enabled: dict[str, dict[str, Any]] = {}
    disabled: set[str] = set()
    for name, svc in services.items():
        if not isinstance(svc, dict):
            raise ConvertError(f"{path}: services.{name} must be a mapping")
        wanted = normalize.string_list(svc.get("profiles"), f"services.{name}.profiles")
        if wanted and not (set(wanted) & active) and "*" not in active:
            disabled.add(str(name))
            report.note(
                str(name),
                f"profiles: {', '.join(wanted)}",
                "left out: none of its profiles is active (--profile)",
            )
            continue
        try:
            enabled[str(name)] = normalize_service(str(name), svc, report)
        except (TypeError, ValueError, AttributeError, KeyError) as err:
            raise ConvertError(
                f"{path}: services.{name}: a value has the wrong shape "
                f"({type(err).__name__}: {err}); see the Compose specification"
            ) from None
    _refuse_dependency_cycles(enabled, path)
    project_name = str(data.get("name") or env.get("COMPOSE_PROJECT_NAME") or base_dir.name)
    tables: dict[str, dict[str, Any]] = {}
    for key, known in (("volumes", VOLUME_KEYS), ("secrets", FILE_KEYS), ("configs", FILE_KEYS)):
        table = data.get(key) or {}
        if not isinstance(table, dict):
            raise ConvertError(f"{path}: top-level {key} must be a mapping")
        for name, spec in table.items():
            for sub in spec or {}:
                if sub not in known and not str(sub).startswith("x-"):
                    report.warn("compose file", f"{key}.{name}.{sub}", "-", f"unknown key {sub!r}")
        tables[key] = {str(k): (v or {}) for k, v in table.items()}
    return Project(
        name=dns_label(project_name),
        base_dir=base_dir,
        services=enabled,
        volumes=tables["volumes"],
        secrets=tables["secrets"],
        configs=tables["configs"],
        environ=env,
        disabled=disabled,
    )


def normalize_service(name: str, svc: dict[str, Any], report: Report) -> dict[str, Any]:
    """Short syntaxes -> long; unknown keys warned by name; x- keys dropped silently."""
    where = f"services.{name}"
    out: dict[str, Any] = {}
    for key, value in svc.items():
        key = str(key)
        if key.startswith("x-"):
            continue
        if key not in SERVICE_KEYS:
            hint = _did_you_mean(key, SERVICE_KEYS)
            report.warn(name, key, "-", f"unknown key {key!r} in service {name}: ignored{hint}")
            continue
        here = f"{where}.{key}"
        if key in NESTED_KEYS and isinstance(value, dict):
            for sub in value:
                if sub not in NESTED_KEYS[key] and not str(sub).startswith("x-"):
                    hint = _did_you_mean(str(sub), NESTED_KEYS[key])
                    report.warn(
                        name, f"{key}.{sub}", "-", f"unknown key {sub!r} in {key}: ignored{hint}"
                    )
            value = {k: v for k, v in value.items() if k in NESTED_KEYS[key]}
        if key == "ports":
            value = normalize.ports(value, here)
        elif key == "expose":
            value = normalize.expose(value, here)
        elif key == "volumes":
            value = normalize.volumes(value, here)
        elif key in ("command", "entrypoint"):
            value = normalize.command(value, here)
        elif key == "depends_on":
            value = normalize.depends_on(value, here)
        elif key in ("dns", "dns_search", "env_file", "tmpfs") and isinstance(value, str):
            value = [value]
        out[key] = value
    return out


def _did_you_mean(key: str, known: set[str]) -> str:
    close = difflib.get_close_matches(key, sorted(known), n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


def _refuse_dependency_cycles(services: dict[str, dict[str, Any]], where: object) -> None:
    """Compose refuses a cycle of depends_on; as init containers that wait for each other it
    would hang every Pod of the cycle forever."""
    done: set[str] = set()
    for start in services:
        path: list[str] = []  # the chain being followed, and the same as a set
        on_path: set[str] = set()
        stack: list[tuple[str, bool]] = [(start, False)]
        while stack:
            name, leaving = stack.pop()
            if leaving:
                on_path.discard(path.pop())
                done.add(name)
                continue
            if name in done:
                continue
            if name in on_path:
                cycle = [*path[path.index(name) :], name]
                raise ConvertError(
                    f"{where}: dependency cycle detected: {' -> '.join(cycle)}: "
                    "remove one of these depends_on"
                )
            path.append(name)
            on_path.add(name)
            stack.append((name, True))
            deps = services[name].get("depends_on") or {}
            stack += [(dep, False) for dep in deps if dep in services]
