"""What converting one service needs everywhere: its state, report labels, small builders."""

import base64
import re
from typing import Any

from .errors import ConvertError
from .names import dns_label, image_base_name, is_label_key, is_label_value
from .ports import database_port
from .project import Options, Project
from .report import Report

CREDENTIAL_URL = re.compile(r"://[^/@:\s]+:[^/@\s]+@")
_SECRET_WORDS = {"PASSWORD", "PASSWD", "SECRET", "TOKEN", "CREDENTIAL", "CREDENTIALS", "APIKEY"}
_SECRET_KEYS = {"API", "ACCESS", "PRIVATE", "SECRET", "ENCRYPTION", "SIGNING"}


def is_secret_name(name: str) -> bool:
    """HF_TOKEN, MYSQL_ROOT_PASSWORD, AWS_SECRET_ACCESS_KEY: a credential. TOKEN_DELAY_MS,
    MAX_NEW_TOKENS and *_PASSWORD_FILE (a path to one) are not."""
    parts = [p for p in re.split(r"[^A-Z0-9]+", name.upper()) if p]
    if not parts or parts[-1] == "FILE":
        return False
    return parts[-1] in _SECRET_WORDS or (
        parts[-1] == "KEY" and len(parts) > 1 and parts[-2] in _SECRET_KEYS
    )


def is_credential(name: str, value: str) -> bool:
    """A value to keep in a Secret: a credential by its name, or a URL with a password in it."""
    return is_secret_name(name) or bool(CREDENTIAL_URL.search(value))


SELECTOR = "app.kubernetes.io/name"

# Keys with no Kubernetes equivalent, and why (shown in the report).
UNCONVERTIBLE = {
    "ulimits": "Kubernetes has no per-container ulimits; they come from the container runtime's "
    "defaults on each node (containerd's LimitNOFILE) or from the image's entrypoint",
    "init": "no --init in Kubernetes: put tini/dumb-init in the image, or set "
    "shareProcessNamespace so the pause process reaps zombies",
    "logging": "logging drivers are a node-level choice in Kubernetes: read logs with kubectl logs",
    "devices": "host devices reach Pods through a device plugin (as nvidia.com/gpu does), "
    "not a path mapping",
    "device_cgroup_rules": "no device cgroup rules in a Pod spec; use a device plugin",
    "cgroup": "the cgroup namespace is set by the runtime for every Pod",
    "cgroup_parent": "kubelet places Pods in its own cgroup hierarchy (by QoS class)",
    "cpu_quota": "use --cpus / deploy.resources.limits.cpus: Kubernetes sets the CFS quota from it",
    "cpu_period": "the CFS period is a kubelet setting (cpuCFSQuotaPeriod)",
    "cpu_count": "Windows-only in Docker",
    "cpu_percent": "Windows-only in Docker",
    "cpu_rt_period": "no real-time CPU scheduling in a Pod spec",
    "cpu_rt_runtime": "no real-time CPU scheduling in a Pod spec",
    "cpuset": "pinning CPUs needs kubelet's static CPU manager policy and a Guaranteed Pod",
    "blkio_config": "no block IO weights or limits in a Pod spec",
    "mem_swappiness": "swap is a node-level kubelet setting",
    "memswap_limit": "swap is a node-level kubelet setting (memorySwap.swapBehavior)",
    "oom_kill_disable": "kubelet never disables the OOM killer; set a memory limit instead",
    "oom_score_adj": "kubelet derives the OOM score from the Pod's QoS class",
    "pids_limit": "the PID limit is a kubelet setting (podPidsLimit)",
    "storage_opt": "use ephemeral-storage requests/limits instead",
    "userns_mode": "user namespaces are spec.hostUsers: false (needs a recent node)",
    "uts": "a Pod always has its own UTS namespace unless hostNetwork",
    "isolation": "Windows-only in Docker",
    "mac_address": "Pods get their addresses from the CNI plugin",
    "credential_spec": "Windows-only in Docker",
    "volumes_from": "share volumes by mounting the same PVC, or put both containers in one Pod",
    "external_links": "containers outside the project: reach them with an ExternalName Service",
    "extends": "not followed: flatten the file first with `docker compose config`",
    "label_file": "not read: put the labels in `labels:`",
    "use_api_socket": "a Pod must not reach a Docker socket; use the Kubernetes API instead",
    "provider": "provider services are run by Compose itself",
    "models": "Compose model runners have no Kubernetes equivalent here",
    "develop": "compose watch is a development loop; use skaffold or tilt on Kubernetes",
    "attach": "kubectl logs / attach choose what you see",
    "pull_refresh_after": "kubelet decides pulls from imagePullPolicy",
    "domainname": "a Pod's domain comes from spec.subdomain plus a headless Service",
    "stop_signal": "Kubernetes sends SIGTERM (or the image's STOPSIGNAL): set STOPSIGNAL in the "
    "Dockerfile",
}


class ServiceBase:
    """The state of one service being converted, and the helpers every part uses."""

    def __init__(
        self,
        name: str,
        project: Project,
        options: Options,
        report: Report,
        ports_of: dict[str, list[dict[str, Any]]],
    ) -> None:
        self.name = name
        self.svc = project.services[name]
        self.project = project
        self.options = options
        self.report = report
        self.ports_of = ports_of
        self.k8s = dns_label(name)
        self.container: dict[str, Any] = {"name": self.k8s}
        self.pod: dict[str, Any] = {}
        self.volumes: list[dict[str, Any]] = []
        self.claim_templates: list[dict[str, Any]] = []
        self.init_containers: list[dict[str, Any]] = []
        self.objects: list[dict[str, Any]] = []
        self.pod_labels: dict[str, str] = {}
        self.pod_annotations: dict[str, str] = {}
        self.labels: dict[str, str] = {}
        self.annotations: dict[str, str] = {}
        self.replicas: int | None = None
        self.env: list[dict[str, Any]] = []
        self.env_from: list[dict[str, Any]] = []
        self.limits: dict[str, str] = {}
        self.requests: dict[str, str] = {}
        self.security: dict[str, Any] = {}
        self.pod_security: dict[str, Any] = {}
        self.node_selector: dict[str, str] = {}
        self.headless = False
        self.kind = self._workload_kind()

    # -- helpers ---------------------------------------------------------------------------
    def field(self, key: str, value: Any = None) -> str:
        """The input as the user wrote it: a docker run flag, or a Compose key and value."""
        origin = self.svc.get("_origin", {})
        if key in origin:
            return str(origin[key])
        if value is None:
            value = self.svc.get(key)
        text = value if isinstance(value, str) else short(value)
        return f"{key}: {text}" if text != "" else key

    def item(self, key: str, entry: dict[str, Any]) -> str:
        raw = entry.get("_raw", "")
        origin = self.svc.get("_origin", {})
        return raw if key in origin else f"{key}: {raw}"

    def add_object(self, obj: dict[str, Any]) -> None:
        obj["metadata"].setdefault("labels", {}).update(self._common_labels())
        self.objects.append(obj)

    def _common_labels(self) -> dict[str, str]:
        labels = {SELECTOR: self.k8s, "app.kubernetes.io/managed-by": "docker2k8s"}
        if self.project.name and is_label_value(self.project.name):
            labels["app.kubernetes.io/part-of"] = self.project.name
        return labels

    def image_name(self) -> str:
        return image_base_name(str(self.svc.get("image") or ""))

    def _named_volumes(self) -> list[dict[str, Any]]:
        return [v for v in self.svc.get("volumes", []) if v["type"] == "volume" and v.get("source")]

    def _mount_volume(self, name: str, source: dict[str, Any], mount: dict[str, Any]) -> str:
        """Mount a volume (source {} for a volumeClaimTemplate); returns its unique name."""
        taken = {v["name"] for v in self.volumes} | {
            t["metadata"]["name"] for t in self.claim_templates
        }
        base, n = dns_label(name), 2
        unique = base
        while unique in taken:
            unique = f"{base}-{n}"
            n += 1
        if any(
            m["mountPath"] == mount["mountPath"] for m in self.container.get("volumeMounts", [])
        ):
            raise ConvertError(f"{self.name}: two volumes are mounted at {mount['mountPath']}")
        if source:
            self.volumes.append({"name": unique, **source})
        self.container.setdefault("volumeMounts", []).append({"name": unique, **mount})
        return unique

    def _label(
        self, key: str, value: str, labels: dict[str, str], notes: dict[str, str], where: str
    ) -> None:
        origin = self.svc.get("_origin", {}).get(f"labels.{key}", f"{where}: {key}={value}")
        if is_label_key(key) and is_label_value(value):
            labels[key] = value
            self.report.converted(self.name, origin, "label")
        else:
            notes[key] = value
            self.report.converted(
                self.name,
                origin,
                "annotation",
                "not a valid Kubernetes label (63 characters of [A-Za-z0-9._-]), "
                "so it is kept as an annotation",
            )

    def _workload_kind(self) -> str:
        if self.options.workload:
            return self.options.workload
        if self.name in self.options.statefulsets or self.k8s in self.options.statefulsets:
            return "StatefulSet"
        if database_port(self.svc) is not None and self._named_volumes():
            return "StatefulSet"
        return "Deployment"


def pvc_object(name: str, size: str) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": {"name": name},
        "spec": {"accessModes": ["ReadWriteOnce"], "resources": {"requests": {"storage": size}}},
    }


def secret_object(name: str, values: dict[str, str]) -> dict[str, Any]:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name},
        "type": "Opaque",
        "stringData": dict(values),
    }


def configmap_object(name: str, key: str, content: bytes) -> dict[str, Any]:
    """Text goes under `data`; anything that is not UTF-8 under `binaryData`, base64."""
    try:
        data: dict[str, Any] = {"data": {key: content.decode()}}
    except UnicodeDecodeError:
        data = {"binaryData": {key: base64.b64encode(content).decode()}}
    return {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name}, **data}


def configmap_key(name: str) -> str:
    return re.sub(r"[^-._a-zA-Z0-9]", "_", name) or "file"


def escape(text: str) -> str:
    """Kubernetes expands $(VAR) in command, args and env values; Docker does not."""
    return text.replace("$(", "$$(")


def paths(files: list[Any]) -> list[str]:
    return [f["path"] if isinstance(f, dict) else str(f) for f in files]


def short(value: Any, limit: int = 70) -> str:
    if isinstance(value, dict):
        text = (
            "{"
            + ", ".join(f"{k}: {short(v)}" for k, v in value.items() if not str(k).startswith("_"))
            + "}"
        )
    elif isinstance(value, list):
        text = "[" + ", ".join(short(v) for v in value) + "]"
    else:
        text = "" if value is None else str(value).replace("\n", "\\n")
    return text if len(text) <= limit else text[: limit - 1] + "…"
