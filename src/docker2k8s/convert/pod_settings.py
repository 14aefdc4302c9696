"""Pod-level settings of one service: labels, namespaces, network, DNS, security."""

from typing import Any

from .names import dns_label
from .normalize import as_bool, mapping
from .service_base import ServiceBase, short


class PodSettingsMixin(ServiceBase):
    """do_<key> handlers for Pod-wide settings and the container security context."""

    def do_labels(self, value: Any) -> None:
        for k, v in mapping(value, f"{self.name}.labels").items():
            self._label(k, v or "", self.pod_labels, self.pod_annotations, "labels")

    def do_annotations(self, value: Any) -> None:
        for k, v in mapping(value, f"{self.name}.annotations").items():
            self.pod_annotations[k] = v or ""
            self.report.converted(self.name, f"annotations: {k}", "Pod annotation")

    def do_hostname(self, value: Any) -> None:
        name = str(value)
        if dns_label(name) == name:
            self.pod["hostname"] = name
            self.report.converted(self.name, self.field("hostname"), "spec.hostname")
        else:
            self.report.unconverted(self.name, self.field("hostname"), "not a DNS-1123 label")

    def do_container_name(self, value: Any) -> None:
        self.report.note(
            self.name,
            self.field("container_name"),
            "a controller names its Pods (name-<hash>); other Pods use the Service name",
        )

    def do_profiles(self, value: Any) -> None:
        self.report.note(self.name, self.field("profiles"), "selected with --profile")

    def do_scale(self, value: Any) -> None:
        self.replicas = int(value)
        self.report.converted(self.name, self.field("scale"), f"spec.replicas {value}")

    def do_ipc(self, value: Any) -> None:
        mode = str(value)
        if mode == "host":
            self.pod["hostIPC"] = True
            self.report.warn(
                self.name,
                self.field("ipc"),
                "hostIPC: true",
                "shares the node's IPC namespace (forbidden by the baseline Pod Security "
                "level). For PyTorch shared memory a Memory emptyDir at /dev/shm (shm_size) "
                "is the usual replacement",
            )
        elif mode in ("private", "shareable", ""):
            self.report.note(self.name, self.field("ipc"), "every Pod has its own IPC namespace")
        else:
            self.report.unconverted(
                self.name,
                self.field("ipc"),
                "containers share IPC only inside one Pod: make them containers of one Pod",
            )

    def do_pid(self, value: Any) -> None:
        if str(value) == "host":
            self.pod["hostPID"] = True
            self.report.warn(self.name, self.field("pid"), "hostPID: true", "sees the node's PIDs")
        else:
            self.report.unconverted(
                self.name, self.field("pid"), "share PIDs inside one Pod with shareProcessNamespace"
            )

    def do_network_mode(self, value: Any) -> None:
        mode = str(value)
        if mode == "host":
            self.pod["hostNetwork"] = True
            self.pod["dnsPolicy"] = "ClusterFirstWithHostNet"
            self.report.warn(
                self.name,
                self.field("network_mode"),
                "hostNetwork: true, dnsPolicy ClusterFirstWithHostNet",
                "the Pod uses the node's network: its ports clash with other host-network Pods",
            )
        elif mode in ("bridge", "default"):
            self.report.note(
                self.name, self.field("network_mode"), "every Pod gets its own IP on one network"
            )
        else:
            self.report.unconverted(
                self.name,
                self.field("network_mode"),
                f"{mode}: no equivalent; containers that share a network namespace are "
                "containers of one Pod",
            )

    def do_networks(self, value: Any) -> None:
        self.report.note(
            self.name,
            self.field("networks"),
            "Kubernetes has one flat Pod network: every Pod reaches every Service by name. "
            "Isolate with NetworkPolicy",
        )
        if isinstance(value, dict):
            for net, spec in value.items():
                if isinstance(spec, dict) and (spec.get("aliases") or spec.get("ipv4_address")):
                    self.report.unconverted(
                        self.name,
                        f"networks.{net}: {short(spec)}",
                        "aliases and fixed IPs: add another Service with the alias as its name",
                    )

    def do_links(self, value: Any) -> None:
        self.report.note(
            self.name, self.field("links"), "Service names resolve in cluster DNS anyway"
        )

    def do_privileged(self, value: Any) -> None:
        if as_bool(value, f"{self.name}.privileged"):
            self.security["privileged"] = True
            self.report.warn(
                self.name,
                self.field("privileged"),
                "securityContext.privileged: true",
                "allowed only in namespaces at the privileged Pod Security level",
            )

    def do_cap_add(self, value: Any) -> None:
        caps = [str(c).upper().removeprefix("CAP_") for c in value or []]
        self.security.setdefault("capabilities", {})["add"] = caps
        self.report.converted(self.name, self.field("cap_add"), "securityContext.capabilities.add")

    def do_cap_drop(self, value: Any) -> None:
        caps = [str(c).upper().removeprefix("CAP_") for c in value or []]
        self.security.setdefault("capabilities", {})["drop"] = caps
        self.report.converted(
            self.name, self.field("cap_drop"), "securityContext.capabilities.drop"
        )

    def do_read_only(self, value: Any) -> None:
        if as_bool(value, f"{self.name}.read_only"):
            self.security["readOnlyRootFilesystem"] = True
            self.report.converted(
                self.name, self.field("read_only"), "securityContext.readOnlyRootFilesystem"
            )

    def do_security_opt(self, value: Any) -> None:
        for opt in value or []:
            text = str(opt)
            label = f"security_opt: {text}"
            label = self.svc.get("_origin", {}).get(f"security_opt.{text}", label)
            if text in ("no-new-privileges", "no-new-privileges:true", "no-new-privileges=true"):
                self.security["allowPrivilegeEscalation"] = False
                self.report.converted(self.name, label, "allowPrivilegeEscalation: false")
            elif text in ("seccomp=unconfined", "seccomp:unconfined"):
                self.security["seccompProfile"] = {"type": "Unconfined"}
                self.report.converted(self.name, label, "seccompProfile Unconfined")
            elif text in ("apparmor=unconfined", "apparmor:unconfined"):
                self.security["appArmorProfile"] = {"type": "Unconfined"}
                self.report.converted(self.name, label, "appArmorProfile Unconfined")
            else:
                self.report.unconverted(
                    self.name, label, "write seLinuxOptions/seccompProfile by hand"
                )

    def do_sysctls(self, value: Any) -> None:
        values = mapping(value, f"{self.name}.sysctls")
        self.pod_security["sysctls"] = [{"name": k, "value": v or ""} for k, v in values.items()]
        self.report.warn(
            self.name,
            self.field("sysctls"),
            "securityContext.sysctls",
            "only 'safe' sysctls are allowed unless kubelet's allowedUnsafeSysctls lists them",
        )

    def do_group_add(self, value: Any) -> None:
        groups = [str(g) for g in value or []]
        if all(g.isdigit() for g in groups):
            self.pod_security["supplementalGroups"] = [int(g) for g in groups]
            self.report.converted(self.name, self.field("group_add"), "supplementalGroups")
        else:
            self.report.unconverted(self.name, self.field("group_add"), "numeric gids only")

    def do_extra_hosts(self, value: Any) -> None:
        where = f"{self.name}.extra_hosts"
        hosts = mapping(value, where, sep=":" if isinstance(value, list) else "=")
        by_ip: dict[str, list[str]] = {}
        for host, ip in hosts.items():
            host, ip = host.strip(), (ip or "").strip().strip("[]")
            if "=" in host and not ip:
                host, _, ip = host.partition("=")
            if ip == "host-gateway" or not ip:
                self.report.unconverted(
                    self.name, f"extra_hosts: {host}", "host-gateway has no Pod equivalent"
                )
                continue
            by_ip.setdefault(ip, []).append(host)
        if by_ip:
            self.pod["hostAliases"] = [{"ip": ip, "hostnames": h} for ip, h in by_ip.items()]
            self.report.converted(self.name, self.field("extra_hosts"), "hostAliases")

    def do_dns(self, value: Any) -> None:
        servers = [value] if isinstance(value, str) else list(value or [])
        self.pod.setdefault("dnsConfig", {})["nameservers"] = [str(s) for s in servers]
        self.report.warn(
            self.name,
            self.field("dns"),
            "dnsConfig.nameservers",
            "added after the cluster DNS, which still answers Service names",
        )

    def do_dns_search(self, value: Any) -> None:
        domains = [value] if isinstance(value, str) else list(value or [])
        self.pod.setdefault("dnsConfig", {})["searches"] = [str(s) for s in domains]
        self.report.converted(self.name, self.field("dns_search"), "dnsConfig.searches")

    def do_dns_opt(self, value: Any) -> None:
        options = []
        for text in value or []:
            name, sep, val = str(text).partition(":")
            options.append({"name": name, "value": val} if sep else {"name": name})
        self.pod.setdefault("dnsConfig", {})["options"] = options
        self.report.converted(self.name, self.field("dns_opt"), "dnsConfig.options")

    def do_platform(self, value: Any) -> None:
        os_name, _, arch = str(value).partition("/")
        self.node_selector["kubernetes.io/os"] = os_name
        became = f"nodeSelector kubernetes.io/os={os_name}"
        if arch:
            arch = arch.split("/")[0]
            self.node_selector["kubernetes.io/arch"] = arch
            became += f", kubernetes.io/arch={arch}"
        self.report.converted(self.name, self.field("platform"), became, "run on matching nodes")

    def do_runtime(self, value: Any) -> None:
        self.pod["runtimeClassName"] = dns_label(str(value))
        self.report.warn(
            self.name,
            self.field("runtime"),
            f"runtimeClassName {dns_label(str(value))}",
            "a RuntimeClass of that name must exist; with NVIDIA's device plugin --gpus is enough",
        )
