"""CPU, memory, GPUs, /dev/shm and the Swarm `deploy:` section of one service."""

import re
from typing import Any

from .errors import ConvertError
from .normalize import mapping
from .quantities import parse_bytes, parse_cpus, quantity_from_bytes
from .service_base import UNCONVERTIBLE, ServiceBase, short

_GPU_CAPS = {"gpu", "nvidia"}


class ResourcesMixin(ServiceBase):
    """do_<key> handlers for resources; GPU device requests become nvidia.com/gpu limits."""

    def do_cpus(self, value: Any) -> None:
        self.limits["cpu"] = parse_cpus(value, f"{self.name}.cpus")
        self.report.converted(self.name, self.field("cpus"), f"limits.cpu {self.limits['cpu']}")

    def do_mem_limit(self, value: Any) -> None:
        size = quantity_from_bytes(parse_bytes(value, f"{self.name}.mem_limit"))
        self.limits["memory"] = size
        self.report.converted(self.name, self.field("mem_limit"), f"limits.memory {size}")

    def do_mem_reservation(self, value: Any) -> None:
        size = quantity_from_bytes(parse_bytes(value, f"{self.name}.mem_reservation"))
        self.requests["memory"] = size
        self.report.converted(self.name, self.field("mem_reservation"), f"requests.memory {size}")

    def do_cpu_shares(self, value: Any) -> None:
        try:
            millis = max(1, round(int(value) * 1000 / 1024))
        except (TypeError, ValueError):
            raise ConvertError(f"{self.name}.cpu_shares: {value!r} is not a number") from None
        self.requests["cpu"] = f"{millis}m"
        self.report.converted(
            self.name,
            self.field("cpu_shares"),
            f"requests.cpu {millis}m",
            "kubelet turns requests.cpu into CPU shares (1 CPU = 1024 shares), so this is the "
            "same relative weight",
        )

    def do_shm_size(self, value: Any) -> None:
        size = quantity_from_bytes(parse_bytes(value, f"{self.name}.shm_size"))
        self._mount_volume(
            "dshm",
            {"emptyDir": {"medium": "Memory", "sizeLimit": size}},
            {"mountPath": "/dev/shm"},
        )
        self.report.converted(
            self.name,
            self.field("shm_size"),
            f"emptyDir {{medium: Memory, sizeLimit: {size}}} at /dev/shm",
            "a Pod's /dev/shm is 64Mi; PyTorch data loaders and NCCL need more. The memory "
            "counts against the container's memory limit",
        )

    def do_gpus(self, value: Any) -> None:
        if value == "all":
            devices = [{"count": "all", "capabilities": ["gpu"], "_raw": "all"}]
        elif isinstance(value, list):
            devices = value
        else:
            raise ConvertError(f"{self.name}.gpus: {value!r} must be `all` or a list of devices")
        self._devices(devices, "gpus")

    def _devices(self, devices: list[Any], key: str) -> None:
        total = 0
        caps_env: set[str] = set()
        for i, dev in enumerate(devices):
            if not isinstance(dev, dict):
                raise ConvertError(f"{self.name}.{key}[{i}]: expected a mapping")
            label = self.svc.get("_origin", {}).get(key) or f"{key}[{i}]: {short(dev)}"
            caps = {str(c) for c in dev.get("capabilities") or ["gpu"]}
            driver = str(dev.get("driver") or "nvidia")
            if driver != "nvidia" or not caps & _GPU_CAPS:
                self.report.unconverted(
                    self.name,
                    label,
                    f"driver {driver!r} / capabilities {sorted(caps)}: only NVIDIA GPUs map to "
                    "a known extended resource (nvidia.com/gpu)",
                )
                continue
            ids = [str(d) for d in dev.get("device_ids") or []]
            count = dev.get("count")
            if ids:
                n = len(ids)
                why = (
                    f"Kubernetes requests a number of GPUs, never given ones: {n} for device_ids "
                    f"{','.join(ids)}; the device plugin picks which (use node labels to choose "
                    "the kind of GPU)"
                )
                self.report.warn(self.name, label, f'limits["nvidia.com/gpu"] {n}', why)
            elif count in (None, "all", -1, "-1"):
                n = self.options.all_gpus
                self.report.warn(
                    self.name,
                    label,
                    f'limits["nvidia.com/gpu"] {n}',
                    "Kubernetes has no 'all GPUs': it needs a count. "
                    f"{n} comes from --all-gpus; set it to the GPUs of one node",
                )
            else:
                try:
                    n = int(count)
                except (TypeError, ValueError):
                    n = -1
                if n < 0 or str(n) != str(count).strip():
                    raise ConvertError(
                        f"{self.name}.{key}[{i}].count: {count!r} is not a number of GPUs "
                        "(0 or more) or 'all'"
                    )
                self.report.converted(
                    self.name,
                    label,
                    f'limits["nvidia.com/gpu"] {n}',
                    "the device plugin gives the container that many whole GPUs; "
                    "GPU requests must equal limits, so only the limit is written",
                )
            total += n
            caps_env |= caps - _GPU_CAPS
            if dev.get("options"):
                self.report.unconverted(
                    self.name, label, "device options have no Kubernetes equivalent"
                )
        if total:
            self.limits["nvidia.com/gpu"] = str(total + int(self.limits.get("nvidia.com/gpu", "0")))
            tolerations = self.pod.setdefault("tolerations", [])
            toleration = {"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}
            if toleration not in tolerations:
                tolerations.append(toleration)
                self.report.note(
                    self.name,
                    f"{key} (GPU nodes)",
                    "GPU nodes are often tainted nvidia.com/gpu:NoSchedule to keep other Pods "
                    "off them; this Pod tolerates the taint",
                    became="tolerations nvidia.com/gpu Exists",
                )
        if caps_env:
            value = ",".join(sorted(caps_env))
            self.env.append({"name": "NVIDIA_DRIVER_CAPABILITIES", "value": value})
            self.report.converted(
                self.name,
                f"{key} capabilities",
                f"env NVIDIA_DRIVER_CAPABILITIES={value}",
                "the NVIDIA runtime reads driver capabilities from this variable",
            )

    def do_deploy(self, value: Any) -> None:
        if not isinstance(value, dict):
            raise ConvertError(f"{self.name}.deploy: expected a mapping")
        for key, sub in value.items():
            label = f"deploy.{key}: {short(sub)}"
            if key == "replicas":
                if not re.fullmatch(r"\d+", str(sub).strip()):
                    raise ConvertError(
                        f"{self.name}.deploy.replicas: {sub!r} is not a number of replicas "
                        "(0 or more)"
                    )
                self.replicas = int(sub)
                self.report.converted(self.name, label, f"spec.replicas {sub}")
            elif key == "resources":
                self._resources(sub)
            elif key == "placement":
                self._placement(sub)
            elif key == "labels":
                for k, v in mapping(sub, f"{self.name}.deploy.labels").items():
                    self._label(k, v or "", self.labels, self.annotations, "deploy.labels")
            elif key == "mode":
                if sub != "replicated":
                    self.report.unconverted(
                        self.name,
                        label,
                        "global (one per node) is a DaemonSet, *-job modes are Jobs: "
                        "write one by hand from this Deployment's Pod template",
                    )
            elif key == "endpoint_mode":
                if sub == "dnsrr":
                    self.headless = True
                    self.report.converted(
                        self.name, label, "Service clusterIP: None (headless)", "DNS round robin"
                    )
                else:
                    self.report.note(self.name, label, "a ClusterIP Service is a virtual IP")
            elif key == "restart_policy":
                self.report.warn(
                    self.name,
                    label,
                    "-",
                    "a Deployment always restarts its Pods (with back-off); max_attempts and "
                    "delay have no equivalent: use a Job with backoffLimit for run-once work",
                )
            elif key in ("update_config", "rollback_config"):
                self.report.note(
                    self.name,
                    label,
                    "Deployments roll out with strategy.rollingUpdate (maxSurge, "
                    "maxUnavailable) and roll back with kubectl rollout undo",
                )
            elif not str(key).startswith("x-"):
                self.report.unconverted(self.name, label, "not converted by docker2k8s")

    def _resources(self, value: Any) -> None:
        for side, target in (("limits", self.limits), ("reservations", self.requests)):
            part = (value or {}).get(side) or {}
            k8s_side = "limits" if side == "limits" else "requests"
            for key, sub in part.items():
                label = f"deploy.resources.{side}.{key}: {short(sub)}"
                where = f"{self.name}.deploy.resources.{side}.{key}"
                if key == "cpus":
                    target["cpu"] = parse_cpus(sub, where)
                    self.report.converted(self.name, label, f"{k8s_side}.cpu {target['cpu']}")
                elif key == "memory":
                    target["memory"] = quantity_from_bytes(parse_bytes(sub, where))
                    self.report.converted(self.name, label, f"{k8s_side}.memory {target['memory']}")
                elif key == "devices":
                    self._devices(sub or [], "deploy.resources.reservations.devices")
                elif key == "pids":
                    self.report.unconverted(self.name, label, UNCONVERTIBLE["pids_limit"])
                elif not str(key).startswith("x-"):
                    self.report.unconverted(
                        self.name,
                        label,
                        "Swarm generic resources: Kubernetes uses extended resources "
                        "advertised by a device plugin",
                    )

    def _placement(self, value: Any) -> None:
        for expr in (value or {}).get("constraints") or []:
            label = f"deploy.placement.constraints: {expr}"
            match = re.match(r"^\s*([\w.\-/]+)\s*(==|!=)\s*(\S+)\s*$", str(expr))
            key = None
            if match:
                attr, op, val = match.groups()
                if attr.startswith("node.labels."):
                    key = attr.removeprefix("node.labels.")
                elif attr == "node.hostname":
                    key = "kubernetes.io/hostname"
                elif attr == "node.platform.os":
                    key = "kubernetes.io/os"
                elif attr == "node.platform.arch":
                    key = "kubernetes.io/arch"
                    val = {"x86_64": "amd64", "aarch64": "arm64"}.get(val, val)
            if key is None or not match:
                self.report.unconverted(
                    self.name, label, "only node.labels.*, node.hostname and node.platform.* map"
                )
                continue
            if op == "==":
                self.node_selector[key] = val
                self.report.converted(self.name, label, f"nodeSelector {key}={val}")
            else:
                terms = (
                    self.pod.setdefault("affinity", {})
                    .setdefault("nodeAffinity", {})
                    .setdefault(
                        "requiredDuringSchedulingIgnoredDuringExecution",
                        {"nodeSelectorTerms": [{}]},
                    )["nodeSelectorTerms"][0]
                )
                terms.setdefault("matchExpressions", []).append(
                    {"key": key, "operator": "NotIn", "values": [val]}
                )
                self.report.converted(self.name, label, f"nodeAffinity {key} NotIn {val}")
        for key in ("preferences", "max_replicas_per_node"):
            if (value or {}).get(key):
                self.report.unconverted(
                    self.name,
                    f"deploy.placement.{key}",
                    "write topologySpreadConstraints by hand to spread replicas",
                )
