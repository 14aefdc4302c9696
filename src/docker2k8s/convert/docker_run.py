"""`docker run [FLAGS] IMAGE [ARGS...]` -> one service in the normalized Compose form.

Flags are read like Docker's CLI (pflag): long and short forms, `--flag=value` and
`--flag value`, combined short flags (`-dit`, `-itp 80:80`), flags end at the image."""

import csv
import os
import re
import shlex
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from . import normalize
from .errors import ConvertError
from .names import dns_label, image_base_name
from .project import Project
from .report import Report

# Every `docker run` flag of Docker CLI 28, and whether it takes a value.
_VALUE_FLAGS = {
    "add-host", "annotation", "attach", "blkio-weight", "blkio-weight-device", "cap-add",
    "cap-drop", "cgroup-parent", "cgroupns", "cidfile", "cpu-count", "cpu-percent", "cpu-period",
    "cpu-quota", "cpu-rt-period", "cpu-rt-runtime", "cpu-shares", "cpus", "cpuset-cpus",
    "cpuset-mems", "detach-keys", "device", "device-cgroup-rule", "device-read-bps",
    "device-read-iops", "device-write-bps", "device-write-iops", "dns", "dns-option", "dns-opt",
    "dns-search", "domainname", "entrypoint", "env", "env-file", "expose", "gpus", "group-add",
    "health-cmd", "health-interval", "health-retries", "health-start-interval",
    "health-start-period", "health-timeout", "hostname", "io-maxbandwidth", "io-maxiops", "ip",
    "ip6", "ipc", "isolation", "kernel-memory", "label", "label-file", "link", "link-local-ip",
    "log-driver", "log-opt", "mac-address", "memory", "memory-reservation", "memory-swap",
    "memory-swappiness", "mount", "name", "network", "net", "network-alias", "net-alias",
    "oom-score-adj", "pid", "pids-limit", "platform", "publish", "pull", "restart", "runtime",
    "security-opt", "shm-size", "stop-signal", "stop-timeout", "storage-opt", "sysctl", "tmpfs",
    "ulimit", "user", "userns", "uts", "volume", "volume-driver", "volumes-from", "workdir",
}  # fmt: skip
_BOOL_FLAGS = {
    "detach", "disable-content-trust", "help", "init", "interactive", "no-healthcheck",
    "oom-kill-disable", "privileged", "publish-all", "quiet", "read-only", "rm", "sig-proxy",
    "tty", "use-api-socket",
}  # fmt: skip
_SHORT = {
    "a": "attach", "c": "cpu-shares", "d": "detach", "e": "env", "h": "hostname",
    "i": "interactive", "l": "label", "m": "memory", "p": "publish", "P": "publish-all",
    "q": "quiet", "t": "tty", "u": "user", "v": "volume", "w": "workdir",
}  # fmt: skip
# Flags that map one-to-one on a Compose key.
_SAME = {
    "cap-add": "cap_add", "cap-drop": "cap_drop", "security-opt": "security_opt",
    "group-add": "group_add", "dns": "dns", "dns-search": "dns_search", "dns-option": "dns_opt",
    "dns-opt": "dns_opt", "device": "devices", "link": "links", "volumes-from": "volumes_from",
    "device-cgroup-rule": "device_cgroup_rules", "storage-opt": "storage_opt",
}  # fmt: skip
_SCALAR = {
    "shm-size": "shm_size", "cpus": "cpus", "memory": "mem_limit",
    "memory-reservation": "mem_reservation", "cpu-shares": "cpu_shares", "restart": "restart",
    "workdir": "working_dir", "user": "user", "ipc": "ipc", "pid": "pid", "uts": "uts",
    "hostname": "hostname", "domainname": "domainname", "platform": "platform",
    "runtime": "runtime", "cgroup-parent": "cgroup_parent", "cgroupns": "cgroup",
    "cpuset-cpus": "cpuset", "cpu-quota": "cpu_quota", "cpu-period": "cpu_period",
    "cpu-rt-period": "cpu_rt_period", "cpu-rt-runtime": "cpu_rt_runtime",
    "memory-swap": "memswap_limit", "memory-swappiness": "mem_swappiness",
    "oom-score-adj": "oom_score_adj", "pids-limit": "pids_limit", "userns": "userns_mode",
    "isolation": "isolation", "mac-address": "mac_address", "stop-signal": "stop_signal",
    "cpu-count": "cpu_count", "cpu-percent": "cpu_percent",
}  # fmt: skip
_BOOL_KEYS = {
    "privileged": "privileged", "read-only": "read_only", "init": "init",
    "oom-kill-disable": "oom_kill_disable", "interactive": "stdin_open", "tty": "tty",
    "use-api-socket": "use_api_socket",
}  # fmt: skip
_HEALTH = {
    "health-interval": "interval", "health-timeout": "timeout", "health-retries": "retries",
    "health-start-period": "start_period", "health-start-interval": "start_interval",
}  # fmt: skip
# Flags that change how the docker client behaves, not the container.
_CLIENT = {
    "attach": "kubectl attach / logs choose the streams",
    "cidfile": "Pods are found by name and labels, not by an id file",
    "detach-keys": "kubectl attach has its own detach keys",
    "sig-proxy": "kubectl does not forward signals to Pods",
    "quiet": "kubelet pulls images",
    "disable-content-trust": "image signature checks are an admission policy in Kubernetes",
    "help": "",
}
_NO_KEY = {
    "ip": "Pods get their IPs from the CNI plugin",
    "ip6": "Pods get their IPs from the CNI plugin",
    "link-local-ip": "Pods get their IPs from the CNI plugin",
    "network-alias": "add another Service named like the alias",
    "net-alias": "add another Service named like the alias",
    "kernel-memory": "removed from Docker and cgroup v2; no equivalent",
    "volume-driver": "volume drivers are StorageClasses: set storageClassName on the PVC",
    "blkio-weight": "no block IO weights in a Pod spec",
    "blkio-weight-device": "no block IO weights in a Pod spec",
    "device-read-bps": "no block IO limits in a Pod spec",
    "device-read-iops": "no block IO limits in a Pod spec",
    "device-write-bps": "no block IO limits in a Pod spec",
    "device-write-iops": "no block IO limits in a Pod spec",
    "io-maxbandwidth": "Windows-only in Docker",
    "io-maxiops": "Windows-only in Docker",
    "cpuset-mems": "NUMA placement is kubelet's topology manager",
}


@dataclass(frozen=True)
class Flag:
    name: str  # long name
    value: str
    text: str  # as written, for the report


@dataclass
class DockerRun:
    image: str
    args: list[str]
    flags: list[Flag]


def split_command(command: str | Sequence[str], environ: Mapping[str, str]) -> list[str]:
    """Words of the command; a string is split like a shell would, $VARS expanded."""
    if not isinstance(command, str) and len(command) == 1 and any(c.isspace() for c in command[0]):
        command = command[0]  # the whole command pasted as one quoted argument
    if isinstance(command, str):
        try:
            words = shlex.split(command)
        except ValueError as err:
            raise ConvertError(f"cannot split the command into words: {err}") from None
        words = [_expand(w, environ) for w in words]
    else:
        words = list(command)
    if words[:2] == ["docker", "run"]:
        words = words[2:]
    elif words[:3] == ["docker", "container", "run"]:
        words = words[3:]
    elif words[:1] == ["run"]:
        words = words[1:]
    return words


def _expand(word: str, environ: Mapping[str, str]) -> str:
    def sub(match: Any) -> str:
        name = match.group(1) or match.group(2)
        if name not in environ:
            raise ConvertError(
                f"{word!r} uses ${name}, which is not set: set it or write the value"
            )
        return environ[name]

    return re.sub(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)", sub, word)


def parse(words: list[str]) -> DockerRun:
    flags: list[Flag] = []
    i = 0
    while i < len(words):
        word = words[i]
        if word == "--":
            i += 1
            break
        if word.startswith("--"):
            name, eq, value = word[2:].partition("=")
            if name in _VALUE_FLAGS:
                if not eq:
                    if i + 1 >= len(words):
                        raise ConvertError(f"flag {word} needs a value: {word} VALUE")
                    value = words[i + 1]
                    i += 1
                    text = f"{word} {value}"
                else:
                    text = word
                flags.append(Flag(name, value, text))
            elif name in _BOOL_FLAGS:
                flags.append(Flag(name, value if eq else "true", word))
            else:
                raise ConvertError(
                    f"unknown flag {word}: `docker run` has no such flag (see docker run --help)"
                )
        elif word.startswith("-") and len(word) > 1:
            j = 1
            while j < len(word):
                char = word[j]
                name = _SHORT.get(char, "")
                if not name:
                    raise ConvertError(f"unknown shorthand flag -{char} in {word}")
                if name in _VALUE_FLAGS:
                    rest = word[j + 1 :].removeprefix("=")
                    if rest:
                        flags.append(Flag(name, rest, f"-{char} {rest}"))
                    else:
                        if i + 1 >= len(words):
                            raise ConvertError(f"flag -{char} needs a value")
                        flags.append(Flag(name, words[i + 1], f"-{char} {words[i + 1]}"))
                        i += 1
                    break
                flags.append(Flag(name, "true", f"-{char}"))
                j += 1
        else:
            break
        i += 1
    if i >= len(words):
        raise ConvertError("no image: write docker run [FLAGS] IMAGE [ARGS...]")
    return DockerRun(image=words[i], args=words[i + 1 :], flags=flags)


def _truthy(value: str, flag: str) -> bool:
    if value.lower() in ("true", "1", ""):
        return True
    if value.lower() in ("false", "0"):
        return False
    raise ConvertError(f"--{flag}={value}: expected true or false")


def gpu_request(value: str, text: str) -> dict[str, Any]:
    """Docker's --gpus: `all`, `2`, `"device=0,1"`, `count=2,capabilities=compute,utility`."""
    fields = next(csv.reader([value.strip("'")]))
    device: dict[str, Any] = {"_raw": text}
    last = ""
    for raw_field in fields:
        field = raw_field.strip().strip('"')
        key, eq, val = field.partition("=")
        if not eq:
            if last in ("device", "capabilities") and field:
                target = "device_ids" if last == "device" else "capabilities"
                device[target].append(field)
            elif field == "all":
                device["count"] = "all"
            elif field.isdigit():
                device["count"] = int(field)
            else:
                raise ConvertError(f"{text}: {field!r} is not `all`, a count or key=value")
            continue
        last = key
        if key == "count":
            device["count"] = "all" if val == "all" else int(val) if val.isdigit() else val
        elif key == "device":
            device["device_ids"] = [d for d in val.split(",") if d]
        elif key == "driver":
            device["driver"] = val
        elif key == "capabilities":
            device["capabilities"] = [c for c in val.split(",") if c]
        elif key == "options":
            device["options"] = val
        else:
            raise ConvertError(f"{text}: unknown GPU request field {key!r}")
    if "count" not in device and "device_ids" not in device:
        device["count"] = "all"
    caps = device.setdefault("capabilities", ["gpu"])
    if "gpu" not in caps:
        caps.append("gpu")
    return device


def to_project(
    run: DockerRun,
    report: Report,
    environ: Mapping[str, str],
    cwd: Path | None = None,
    forced: str | None = None,
) -> tuple[Project, str]:
    """The command as a one-service project; also the workload kind docker run implies
    (`forced` when the user chose one)."""
    svc: dict[str, Any] = {"image": run.image}
    origin: dict[str, str] = {"image": f"IMAGE {run.image}"}
    name = dns_label(image_base_name(run.image))
    facts = {"rm": False, "detach": False, "restart": ""}
    env: dict[str, str | None] = {}
    health: dict[str, Any] = {}
    health_text: list[str] = []
    for flag in run.flags:
        try:
            _apply_flag(flag, svc, origin, env, health, health_text, facts, report)
        except (TypeError, ValueError) as err:
            raise ConvertError(f"{flag.text}: not a valid value ({err})") from None
        if flag.name == "name":
            name = dns_label(flag.value)
    if env:
        svc["environment"] = env
    if health:
        svc["healthcheck"] = health
        origin["healthcheck"] = " ".join(health_text)
    if run.args:
        svc["command"] = list(run.args)
        origin["command"] = "ARGS " + " ".join(run.args)
    kind, why = _kind(facts, bool(svc.get("ports")))
    if forced:
        kind, why = forced, f"--as {forced}: asked for"
    report.note("docker run", "(workload)", why, became=kind)
    if facts["rm"]:
        report.note(
            "docker run",
            "--rm",
            "a finished Pod stays until deleted (kubectl delete pod); a Job can remove itself "
            "with ttlSecondsAfterFinished",
        )
    svc["_origin"] = origin
    project = Project(
        name="",
        base_dir=cwd or Path.cwd(),
        services={name: svc},
        environ=dict(environ),
        implicit_volumes=True,
    )
    return project, kind


def _kind(facts: dict[str, Any], published: bool) -> tuple[str, str]:
    restart = str(facts["restart"])
    if restart in ("always", "unless-stopped"):
        return "Deployment", f"--restart {restart}: a Deployment keeps the Pod running"
    if facts["rm"]:
        return "Pod", "--rm: a one-off container is a bare Pod (restartPolicy Never)"
    if facts["detach"] or published:
        why = "-d" if facts["detach"] else "published ports"
        return (
            "Deployment",
            f"{why}: a long-running server becomes a Deployment (a StatefulSet for a database "
            "with a named volume), whose controller recreates the Pod, unlike Docker's default "
            "--restart no",
        )
    return "Pod", "a foreground container runs once: a bare Pod (restartPolicy from --restart)"


def project_from_command(
    command: str | Sequence[str],
    report: Report,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
    forced: str | None = None,
) -> tuple[Project, str]:
    env = dict(os.environ if environ is None else environ)
    return to_project(parse(split_command(command, env)), report, env, cwd, forced)


def _apply_flag(
    flag: Flag,
    svc: dict[str, Any],
    origin: dict[str, str],
    env: dict[str, str | None],
    health: dict[str, Any],
    health_text: list[str],
    facts: dict[str, Any],
    report: Report,
) -> None:
    """Record one flag in the service (Compose form) or in the report."""

    def add(key: str, value: Any, flag: Flag) -> None:
        svc.setdefault(key, []).append(value)
        origin[key] = f"{origin[key]} {flag.text}" if key in origin else flag.text

    n, v = flag.name, flag.value
    where = flag.text
    if n == "name":
        name = dns_label(v)  # to_project names the service
        if name != v:
            report.warn(
                "docker run",
                flag.text,
                f"name {name}",
                "Kubernetes names are DNS-1123 labels: lowercase letters, digits and '-'",
            )
        else:
            report.converted("docker run", flag.text, f"metadata.name {name}")
    elif n == "publish":
        for port in normalize.port_short(v, where):
            svc.setdefault("ports", []).append({**port, "_raw": flag.text})
        origin["ports"] = flag.text
    elif n == "expose":
        for port in normalize.expose([v], where):
            svc.setdefault("expose", []).append({**port, "_raw": flag.text})
        origin["expose"] = flag.text
    elif n == "publish-all":
        report.unconverted(
            "docker run",
            flag.text,
            "-P publishes the image's EXPOSE ports, which the converter cannot see: "
            "list them with -p or --expose",
        )
    elif n == "volume":
        svc.setdefault("volumes", []).append({**normalize.volume_short(v, where), "_raw": where})
        origin["volumes"] = flag.text
    elif n == "mount":
        svc.setdefault("volumes", []).append({**normalize.mount_flag(v, where), "_raw": where})
        origin["volumes"] = flag.text
    elif n == "tmpfs":
        add("tmpfs", v, flag)
    elif n == "env":
        key, has, val = v.partition("=")
        env[key] = val if has else None
        origin[f"environment.{key}"] = flag.text
    elif n == "env-file":
        add("env_file", v, flag)
    elif n == "gpus":
        svc.setdefault("gpus", []).append(gpu_request(v, flag.text))
        origin["gpus"] = flag.text
    elif n in _SCALAR:
        svc[_SCALAR[n]] = v
        origin[_SCALAR[n]] = flag.text
        if n == "restart":
            facts["restart"] = v
    elif n in _SAME:
        add(_SAME[n], v, flag)
        if n == "security-opt":
            origin[f"security_opt.{v}"] = flag.text
    elif n in _BOOL_KEYS:
        if _truthy(v, n):
            svc[_BOOL_KEYS[n]] = True
            origin[_BOOL_KEYS[n]] = flag.text
    elif n == "entrypoint":
        svc["entrypoint"] = [v] if v else []
        origin["entrypoint"] = flag.text
    elif n.startswith("health-"):
        if n == "health-cmd":
            health["test"] = ["CMD-SHELL", v]
        else:
            health[_HEALTH[n]] = int(v) if n == "health-retries" else v
        health_text.append(flag.text)
    elif n == "no-healthcheck":
        if _truthy(v, n):
            health["disable"] = True
            health_text.append(flag.text)
    elif n in ("network", "net"):
        if v in ("host", "none", "bridge", "default") or ":" in v:
            svc["network_mode"] = v
            origin["network_mode"] = flag.text
        else:
            svc["networks"] = {v: None}
            origin["networks"] = flag.text
    elif n == "label":
        key, _, val = v.partition("=")
        svc.setdefault("labels", {})[key] = val
        origin[f"labels.{key}"] = flag.text
    elif n == "label-file":
        svc["label_file"] = v
        origin["label_file"] = flag.text
    elif n == "annotation":
        key, _, val = v.partition("=")
        svc.setdefault("annotations", {})[key] = val
    elif n == "ulimit":
        add("ulimits", v, flag)
    elif n == "sysctl":
        key, _, val = v.partition("=")
        svc.setdefault("sysctls", {})[key] = val
        origin["sysctls"] = f"{origin.get('sysctls', '')} {flag.text}".strip()
    elif n == "add-host":
        host, _, ip = v.replace("=", ":", 1).partition(":")
        svc.setdefault("extra_hosts", {})[host] = ip
        origin["extra_hosts"] = f"{origin.get('extra_hosts', '')} {flag.text}".strip()
    elif n == "pull":
        svc["pull_policy"] = v
        origin["pull_policy"] = flag.text
    elif n == "stop-timeout":
        svc["stop_grace_period"] = f"{v}s"
        origin["stop_grace_period"] = flag.text
    elif n in ("log-driver", "log-opt"):
        svc["logging"] = v
        origin["logging"] = f"{origin.get('logging', '')} {flag.text}".strip()
    elif n == "rm":
        facts["rm"] = _truthy(v, n)
    elif n == "detach":
        facts["detach"] = _truthy(v, n)
        report.note(
            "docker run",
            flag.text,
            "kubectl apply always returns at once: Pods run in the background; "
            "follow them with kubectl logs -f",
        )
    elif n in _CLIENT:
        report.note("docker run", flag.text, _CLIENT[n] or "client-side only")
    elif n in _NO_KEY:
        report.unconverted("docker run", flag.text, _NO_KEY[n])
    else:  # a flag of the table above without a mapping: say so rather than drop it
        report.unconverted("docker run", flag.text, "not converted by docker2k8s")
