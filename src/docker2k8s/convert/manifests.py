"""One normalized service -> Kubernetes objects (plain dicts), each decision reported."""

import base64
from pathlib import Path
from typing import Any

from .envfiles import parse_env_file
from .errors import ConvertError
from .interpolation import interpolate
from .names import dns_label, is_image_reference
from .normalize import as_bool, file_refs, mapping
from .pod_settings import PodSettingsMixin
from .ports import mentions, service_ports
from .probes import probes
from .project import Options, Project
from .quantities import parse_duration
from .report import Report
from .resources import ResourcesMixin
from .service_base import (
    SELECTOR,
    UNCONVERTIBLE,
    configmap_key,
    configmap_object,
    escape,
    is_credential,
    is_secret_name,
    paths,
    secret_object,
    short,
)
from .storage import StorageMixin

__all__ = ["ServiceConverter", "convert_project", "is_secret_name", "wait_script"]


class ServiceConverter(StorageMixin, ResourcesMixin, PodSettingsMixin):
    """Converts one service; call `convert()` once."""

    # -- entry point -----------------------------------------------------------------------
    def convert(self) -> list[dict[str, Any]]:
        if self.k8s != self.name:
            self.report.warn(
                self.name,
                "service name",
                f"name {self.k8s}",
                "Kubernetes names are DNS-1123 labels (lowercase letters, digits, '-'): "
                "other services must use this name as the host name",
            )
        why = {
            "StatefulSet": "asked for with --statefulset"
            if self.name in self.options.statefulsets
            else f"{self.image_name()} is a database (by its image or its variables) and keeps "
            "its data in a named volume: a StatefulSet gives it a stable name and its own PVC",
            "Deployment": "a long-running service: the Deployment's controller recreates the "
            "Pod when it dies and scales it to `replicas`",
            "Pod": "a one-off container like docker run: one Pod, no controller recreating it",
        }
        self.report.converted(self.name, "service", f"{self.kind} {self.k8s}", why[self.kind])
        for key, value in self.svc.items():
            if key == "_origin":  # the report labels docker run leaves (see docker_run.py)
                continue
            handler = getattr(self, f"do_{key}", None)
            if handler is not None:
                try:
                    handler(value)
                except (TypeError, ValueError, AttributeError, KeyError, OverflowError) as err:
                    # a value of the wrong shape (a string where a list belongs...) or size
                    raise ConvertError(
                        f"service {self.name!r}: {key}: {short(value)!r} is not a valid value "
                        f"for {key} ({type(err).__name__}: {err}); see the Compose specification"
                    ) from None
            elif key in UNCONVERTIBLE:
                self.report.unconverted(self.name, self.field(key), UNCONVERTIBLE[key])
            elif not key.startswith("x-"):
                self.report.unconverted(self.name, self.field(key), "not converted by docker2k8s")
        if "image" not in self.svc:
            self.do_image(None)
        self._service()
        self._finish_container()
        return [*self.objects, self._workload()]

    # -- image and process -----------------------------------------------------------------
    def do_image(self, value: Any) -> None:
        if value:
            if not is_image_reference(str(value)):
                raise ConvertError(
                    f"{self.name}.image: {str(value)[:80]!r} is not an image reference "
                    "([REGISTRY/]NAME[:TAG][@DIGEST], the name lowercase, no spaces)"
                )
            self.container["image"] = str(value)
            self.report.converted(self.name, self.field("image"), "containers[0].image")
            return
        if "build" not in self.svc:
            raise ConvertError(f"service {self.name!r} has neither `image` nor `build`")
        image = f"{self.project.name}-{self.name}".lower()
        self.container["image"] = image
        self.container["imagePullPolicy"] = "IfNotPresent"
        self.report.warn(
            self.name,
            "build (no image)",
            f"image {image}, imagePullPolicy IfNotPresent",
            "Kubernetes runs images, it never builds them: build and tag the image under the "
            "name Compose gives it, then load it into the nodes (or push it to a registry)",
        )

    def do_build(self, value: Any) -> None:
        if self.svc.get("image"):
            self.report.note(
                self.name,
                self.field("build"),
                "Kubernetes never builds: build and push/load the image named in `image`",
            )

    def do_pull_policy(self, value: Any) -> None:
        policies = {
            "always": "Always",
            "never": "Never",
            "missing": "IfNotPresent",
            "if_not_present": "IfNotPresent",
            "build": "IfNotPresent",
        }
        policy = policies.get(str(value))
        if policy is None:
            self.report.unconverted(
                self.name, self.field("pull_policy"), "no equivalent imagePullPolicy"
            )
            return
        self.container["imagePullPolicy"] = policy
        self.report.converted(self.name, self.field("pull_policy"), f"imagePullPolicy {policy}")

    def do_entrypoint(self, value: Any) -> None:
        if value is None:
            return
        self.container["command"] = [escape(w) for w in value]
        self.report.converted(
            self.name,
            self.field("entrypoint", " ".join(value)),
            "containers[0].command",
            "Kubernetes `command` replaces the image ENTRYPOINT and drops its CMD, as Docker does",
        )

    def do_command(self, value: Any) -> None:
        if value is None:
            return
        if not value:
            self.report.unconverted(
                self.name,
                self.field("command"),
                "an empty args list means 'use the image CMD' in Kubernetes: set `command` "
                "to the image ENTRYPOINT to run it without arguments",
            )
            return
        self.container["args"] = [escape(w) for w in value]
        why = "Kubernetes `args` replaces the image CMD"
        if any("$(" in w for w in value):
            why += "; `$(` is written `$$(` because Kubernetes would expand $(VAR)"
        self.report.converted(
            self.name, self.field("command", " ".join(value)), "containers[0].args", why
        )

    def do_working_dir(self, value: Any) -> None:
        self.container["workingDir"] = str(value)
        self.report.converted(self.name, self.field("working_dir"), "workingDir")

    def do_user(self, value: Any) -> None:
        user, _, group = str(value).partition(":")
        if not user.isdigit() or (group and not group.isdigit()):
            self.report.unconverted(
                self.name,
                self.field("user"),
                "Kubernetes takes numeric ids only (runAsUser/runAsGroup): look the name up "
                "in the image's /etc/passwd and write the uid",
            )
            return
        self.security["runAsUser"] = int(user)
        became = f"securityContext.runAsUser {user}"
        if group:
            self.security["runAsGroup"] = int(group)
            became += f", runAsGroup {group}"
        self.report.converted(self.name, self.field("user"), became)

    def do_stdin_open(self, value: Any) -> None:
        if as_bool(value, f"{self.name}.stdin_open"):
            self.container["stdin"] = True
            self.report.converted(
                self.name, self.field("stdin_open"), "stdin: true", "attach with kubectl attach -i"
            )

    def do_tty(self, value: Any) -> None:
        if as_bool(value, f"{self.name}.tty"):
            self.container["tty"] = True
            self.report.converted(self.name, self.field("tty"), "tty: true")

    def do_stop_grace_period(self, value: Any) -> None:
        seconds = parse_duration(value, f"{self.name}.stop_grace_period")
        self.pod["terminationGracePeriodSeconds"] = max(0, round(seconds))
        self.report.converted(
            self.name, self.field("stop_grace_period"), "terminationGracePeriodSeconds"
        )

    def do_post_start(self, value: Any) -> None:
        self._hook("post_start", "postStart", value)

    def do_pre_stop(self, value: Any) -> None:
        self._hook("pre_stop", "preStop", value)

    def _hook(self, key: str, k8s_key: str, value: Any) -> None:
        hooks = value if isinstance(value, list) else []
        if not hooks or not isinstance(hooks[0], dict) or "command" not in hooks[0]:
            raise ConvertError(f"{self.name}.{key}: expected a list of {{command: ...}}")
        cmd = hooks[0]["command"]
        words = cmd if isinstance(cmd, list) else ["/bin/sh", "-c", str(cmd)]
        self.container.setdefault("lifecycle", {})[k8s_key] = {"exec": {"command": words}}
        self.report.converted(self.name, self.field(key), f"lifecycle.{k8s_key}.exec")
        if len(hooks) > 1 or set(hooks[0]) - {"command"}:
            self.report.unconverted(
                self.name,
                self.field(key),
                "Kubernetes runs one hook command, as the container's user, with its env",
            )

    # -- environment -----------------------------------------------------------------------
    def do_environment(self, value: Any) -> None:
        env = mapping(value, f"{self.name}.environment")
        secret: dict[str, str] = {}
        origin = self.svc.get("_origin", {})
        labels = {key: origin.get(f"environment.{key}", f"environment: {key}") for key in env}
        for key, val in env.items():
            label = labels[key]
            if val is None:
                if key not in self.project.environ:
                    self.report.note(
                        self.name,
                        label,
                        f"{key} is not set in your environment, so Compose/Docker would not "
                        "set it either",
                    )
                    continue
                val = self.project.environ[key]
            if is_credential(key, val):
                secret[key] = val
                continue
            self.env.append({"name": key, "value": escape(val)})
            self.report.converted(self.name, label, f"env {key}")
        if secret:
            name = f"{self.k8s}-env"
            self.add_object(secret_object(name, secret))
            for key in secret:
                self.env.append(
                    {"name": key, "valueFrom": {"secretKeyRef": {"name": name, "key": key}}}
                )
                self.report.converted(
                    self.name,
                    labels[key],
                    f"Secret {name}, env {key} from secretKeyRef",
                    "a credential (by its name, or a URL with a password): a Secret keeps it "
                    "out of the Pod spec and can be access-controlled separately",
                )

    def do_env_file(self, value: Any) -> None:
        files = value if isinstance(value, list) else [value]
        merged: dict[str, str] = {}
        for entry in files:
            path_text = entry["path"] if isinstance(entry, dict) else str(entry)
            required = entry.get("required", True) if isinstance(entry, dict) else True
            path = self._path(path_text)
            if not path.exists():
                if as_bool(required, f"{self.name}.env_file.required"):
                    raise ConvertError(
                        f"{self.name}: env_file {path_text} not found (looked at {path})"
                    )
                self.report.note(self.name, f"env_file: {path_text}", "optional file missing")
                continue
            values = parse_env_file(path, self.project.environ, interpolate)
            merged.update({k: v for k, v in values.items() if v is not None})
        plain = {k: v for k, v in merged.items() if not is_credential(k, v)}
        secret = {k: v for k, v in merged.items() if k not in plain}
        label = self.field("env_file", ", ".join(paths(files)))
        if plain:
            name = f"{self.k8s}-env-file"
            self.add_object(
                {
                    "apiVersion": "v1",
                    "kind": "ConfigMap",
                    "metadata": {"name": name},
                    "data": plain,
                }
            )
            self.env_from.append({"configMapRef": {"name": name}})
            self.report.converted(
                self.name,
                label,
                f"ConfigMap {name} + envFrom",
                f"{len(plain)} variables; `environment` still wins over the file, as in Compose",
            )
        if secret:
            name = f"{self.k8s}-env-file-secret"
            self.add_object(secret_object(name, secret))
            self.env_from.append({"secretRef": {"name": name}})
            self.report.converted(
                self.name,
                label,
                f"Secret {name} + envFrom",
                f"{', '.join(sorted(secret))}: names of credentials go to a Secret",
            )

    # -- health and dependencies -----------------------------------------------------------
    def do_healthcheck(self, value: Any) -> None:
        if not isinstance(value, dict):
            raise ConvertError(f"{self.name}.healthcheck: expected a mapping")
        label = self.field("healthcheck", short(value.get("test")))
        if as_bool(value.get("disable", False), f"{self.name}.healthcheck.disable"):
            self.report.note(self.name, label, "Kubernetes never runs an image's HEALTHCHECK")
            return
        result, how = probes(value, f"{self.name}.healthcheck")
        if not result:
            self.report.note(self.name, label, "Kubernetes never runs an image's HEALTHCHECK")
            return
        self.container.update(result)
        self.report.converted(
            self.name,
            label,
            ", ".join(result),
            f"{how}. Readiness gates Service traffic (what depends_on: service_healthy waits "
            "for); liveness restarts the container when it keeps failing, which Docker only "
            "reports as unhealthy"
            + ("; a startup probe covers start_period" if "startupProbe" in result else ""),
        )

    def do_depends_on(self, value: Any) -> None:
        for dep, spec in (value or {}).items():
            label = f"depends_on: {dep} ({spec['condition']})"
            origin = self.svc.get("_origin", {}).get("depends_on")
            label = origin or label
            if dep not in self.project.services:
                if dep in self.project.disabled:
                    self.report.warn(
                        self.name, label, "-", f"{dep} is left out by the selected profiles"
                    )
                    continue
                if spec.get("required", True):
                    raise ConvertError(
                        f"service {self.name!r} depends on undefined service {dep!r}"
                    )
                self.report.note(self.name, label, f"{dep} is not defined and not required")
                continue
            dep_k8s = dns_label(dep)
            condition = spec["condition"]
            if condition == "service_completed_successfully":
                self.report.unconverted(
                    self.name,
                    label,
                    "Kubernetes has no order between workloads: run the dependency as a Job "
                    "and make this Pod's init container wait for what it produces",
                )
                continue
            ports = self.ports_of.get(dep, [])
            if not ports:
                self.report.warn(
                    self.name,
                    label,
                    "-",
                    f"{dep} declares no port, so there is nothing to wait for: Kubernetes starts "
                    "all Pods at once and this container must retry until it is up "
                    f"(or add `expose:` to {dep})",
                )
                continue
            port = ports[0]["target"]
            if condition == "service_healthy" and "healthcheck" not in self.project.services[dep]:
                self.report.warn(
                    self.name,
                    label,
                    "-",
                    f"{dep} has no healthcheck, so Compose would refuse service_healthy",
                )
            script = wait_script(dep_k8s, port)
            self.init_containers.append(
                {
                    "name": dns_label(f"wait-for-{dep_k8s}"),
                    "image": self.options.wait_image,
                    "command": ["sh", "-c", script],
                }
            )
            meaning = (
                "the Service only routes to Pods whose readiness probe passes, so a TCP connect "
                "means healthy"
                if condition == "service_healthy"
                else "stricter than Compose's service_started: it waits until the port accepts"
            )
            self.report.converted(
                self.name,
                label,
                f"initContainer wait-for-{dep_k8s} ({self.options.wait_image}) connecting to "
                f"{dep_k8s}:{port}",
                f"the Pod starts only after {dep_k8s}:{port} answers; {meaning}. Init containers "
                "run once: if the dependency restarts later, this app must retry",
            )

    def do_restart(self, value: Any) -> None:
        policy = str(value)
        label = self.field("restart")
        if self.kind == "Pod":
            mapped = {"no": "Never", "always": "Always", "unless-stopped": "Always"}
            k8s = mapped.get(policy) or ("OnFailure" if policy.startswith("on-failure") else None)
            if k8s is None:
                raise ConvertError(
                    f"--restart {policy!r}: use no, always, unless-stopped, on-failure"
                )
            self.pod["restartPolicy"] = k8s
            self.report.converted(self.name, label, f"restartPolicy {k8s}")
            if ":" in policy:
                self.report.unconverted(
                    self.name, label, "a Pod has no retry count: a Job's backoffLimit has"
                )
            return
        if policy in ("always", "unless-stopped"):
            self.report.converted(
                self.name,
                label,
                "restartPolicy Always (the only one a Deployment allows)",
                "kubelet restarts the container and the controller replaces a lost Pod",
            )
        else:
            self.report.warn(
                self.name,
                label,
                "restartPolicy Always",
                f"restart {policy}: a Deployment always restarts; a container that should run "
                "once belongs in a Job (restartPolicy Never/OnFailure)",
            )

    # -- ports and Services ----------------------------------------------------------------
    def do_ports(self, value: Any) -> None:
        for port in value:
            label = self.item("ports", port)
            became = f"Service {self.k8s} port {port['target']}/{port['protocol']}"
            if port.get("published") and port["protocol"] != "TCP":
                why = (
                    f"other Pods reach {self.k8s}:{port['target']}/{port['protocol']}; kubectl "
                    "port-forward is TCP only, so reach the host port through --service-type "
                    "NodePort"
                )
            elif port.get("published"):
                how = (
                    f"kubectl port-forward svc/{self.k8s} {port['published']}:{port['target']}"
                    if self.options.service_type == "ClusterIP"
                    else f"the {self.options.service_type} Service"
                )
                why = (
                    f"other Pods reach {self.k8s}:{port['target']} as on the Compose network; "
                    f"the host port {port['published']} becomes: {how}"
                )
            else:
                why = f"other Pods reach {self.k8s}:{port['target']}"
            self.report.converted(self.name, label, became, why)
            if port.get("host_ip"):
                self.report.unconverted(
                    self.name,
                    label,
                    f"binding to {port['host_ip']} only: a Service is reachable from the "
                    "whole cluster; restrict it with a NetworkPolicy",
                )
            if port.get("mode") == "host":
                self.report.unconverted(
                    self.name, label, "mode host would be a hostPort: avoid it, use the Service"
                )

    def do_expose(self, value: Any) -> None:
        for port in value:
            self.report.converted(
                self.name,
                self.item("expose", port),
                f"Service {self.k8s} port {port['target']}/{port['protocol']}",
                "reachable by other Pods only, like expose",
            )

    def _service(self) -> None:
        ports = self.ports_of.get(self.name, [])
        headless = self.headless or self.kind == "StatefulSet"
        if not ports and self.kind != "StatefulSet":
            return
        for port in ports:
            if "_inferred" in port:
                self.report.warn(
                    self.name,
                    "(no ports or expose)",
                    f"Service {self.k8s} port {port['target']}",
                    f"{port['_inferred']}. Compose lets services reach each other on any "
                    "port; a Service must list its ports: declare them with `expose:`",
                )
        spec: dict[str, Any] = {"selector": {SELECTOR: self.k8s}}
        if ports:
            spec["ports"] = [
                {
                    k: v
                    for k, v in {
                        "name": p["k8s_name"],
                        "port": p["target"],
                        "targetPort": p["target"],
                        "protocol": p["protocol"],
                        "appProtocol": p.get("app_protocol"),
                    }.items()
                    if v is not None
                }
                for p in ports
            ]
        if headless:
            spec["clusterIP"] = "None"
            if self.kind == "StatefulSet":
                self.report.note(
                    self.name,
                    "service",
                    "a StatefulSet is governed by a headless Service: the name resolves "
                    f"straight to the Pod IP, and each Pod also gets {self.k8s}-0.{self.k8s}",
                    became=f"Service {self.k8s} clusterIP: None",
                )
        elif self.options.service_type != "ClusterIP":
            spec["type"] = self.options.service_type
            if self.options.service_type == "NodePort":
                for out, p in zip(spec["ports"], ports, strict=True):
                    published = p.get("published")
                    if published and published.isdigit() and 30000 <= int(published) <= 32767:
                        out["nodePort"] = int(published)
        self.add_object(
            {"apiVersion": "v1", "kind": "Service", "metadata": {"name": self.k8s}, "spec": spec}
        )

    # -- assembly --------------------------------------------------------------------------
    def _finish_container(self) -> None:
        if self.env:
            self.container["env"] = self.env
        if self.env_from:
            self.container["envFrom"] = self.env_from
        ports = self.ports_of.get(self.name, [])
        if ports:
            self.container["ports"] = [
                {"name": p["k8s_name"], "containerPort": p["target"], "protocol": p["protocol"]}
                for p in ports
            ]
        resources = {}
        if self.limits:
            resources["limits"] = dict(self.limits)
        if self.requests:
            resources["requests"] = dict(self.requests)
        if resources:
            self.container["resources"] = resources
            if self.limits.keys() - {"nvidia.com/gpu"} and not self.requests:
                # the QoS class counts init containers too, and the wait ones set no resources
                qos = (
                    "QoS Burstable: the wait init containers set no resources"
                    if self.init_containers
                    else "QoS Guaranteed when both cpu and memory are set"
                )
                self.report.note(
                    self.name,
                    "resources",
                    "with limits only, requests default to the limits: the scheduler reserves "
                    f"that much ({qos})",
                )
        if (
            self.security.get("privileged")
            and self.security.get("allowPrivilegeEscalation") is False
        ):
            del self.security["allowPrivilegeEscalation"]
            self.report.warn(
                self.name,
                "privileged + no-new-privileges",
                "privileged: true only",
                "Docker accepts both; the Kubernetes API rejects allowPrivilegeEscalation: false "
                "on a privileged container, and privilege escalation is moot there anyway",
            )
        if self.security:
            self.container["securityContext"] = self.security
        if self.pod_security:
            self.pod["securityContext"] = self.pod_security
        # the order kubectl users read a container in, whatever order the input had
        order = [
            "name", "image", "imagePullPolicy", "command", "args", "workingDir", "ports", "env",
            "envFrom", "resources", "volumeMounts", "startupProbe", "readinessProbe",
            "livenessProbe", "lifecycle", "securityContext", "stdin", "tty",
        ]  # fmt: skip
        self.container = {k: self.container[k] for k in order if k in self.container}

    def _pod_spec(self) -> dict[str, Any]:
        spec: dict[str, Any] = {}
        if self.init_containers:
            spec["initContainers"] = self.init_containers
        spec["containers"] = [self.container]
        if self.node_selector:
            spec["nodeSelector"] = self.node_selector
        spec.update(self.pod)
        if self.volumes:
            spec["volumes"] = self.volumes
        return spec

    def _workload(self) -> dict[str, Any]:
        selector = {SELECTOR: self.k8s}
        pod_meta: dict[str, Any] = {"labels": {**self.pod_labels, **selector}}
        if self.pod_annotations:
            pod_meta["annotations"] = self.pod_annotations
        meta: dict[str, Any] = {"name": self.k8s, "labels": {**self.labels}}
        if self.annotations:
            meta["annotations"] = self.annotations
        meta["labels"].update(self._common_labels())
        if self.kind == "Pod":
            meta["labels"].update(self.pod_labels)
            if self.pod_annotations:
                meta.setdefault("annotations", {}).update(self.pod_annotations)
            spec = self._pod_spec()
            spec.setdefault("restartPolicy", "Never")
            return {"apiVersion": "v1", "kind": "Pod", "metadata": meta, "spec": spec}
        spec = {
            "replicas": self.replicas if self.replicas is not None else 1,
            "selector": {"matchLabels": selector},
        }
        if self.kind == "StatefulSet":
            spec["serviceName"] = self.k8s
        spec["template"] = {"metadata": pod_meta, "spec": self._pod_spec()}
        if self.claim_templates:
            spec["volumeClaimTemplates"] = self.claim_templates
        return {"apiVersion": "apps/v1", "kind": self.kind, "metadata": meta, "spec": spec}


def convert_project(project: Project, options: Options, report: Report) -> list[dict[str, Any]]:
    """Every service of the project as Kubernetes objects, in apply order."""
    names: dict[str, str] = {}
    for name in project.services:
        k8s = dns_label(name)
        if k8s in names:
            raise ConvertError(
                f"services {names[k8s]!r} and {name!r} both become the Kubernetes name {k8s!r}; "
                "rename one"
            )
        names[k8s] = name
    for name in options.statefulsets:
        if name not in project.services and name not in names:
            raise ConvertError(f"--statefulset {name}: no such service")
    mentioned = mentions(project.services)
    ports_of = {n: service_ports(n, project.services, report, mentioned) for n in project.services}
    objects: list[dict[str, Any]] = []
    for name in project.services:
        objects.extend(ServiceConverter(name, project, options, report, ports_of).convert())
    objects.extend(_top_level_files(project, report))
    order = ["ConfigMap", "Secret", "PersistentVolumeClaim", "Service"]
    return sorted(
        _unique(objects),
        key=lambda o: order.index(o["kind"]) if o["kind"] in order else len(order),
    )


def _unique(objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    seen: dict[tuple[str, str], dict[str, Any]] = {}
    for obj in objects:
        key = (obj["kind"], obj["metadata"]["name"])
        if key in seen and seen[key] != obj:
            raise ConvertError(
                f"two different {obj['kind']} objects would be named {key[1]!r}: rename one input"
            )
        seen[key] = obj
    return list(seen.values())


def _top_level_files(project: Project, report: Report) -> list[dict[str, Any]]:
    """Top-level secrets and configs used by a service -> Secrets and ConfigMaps."""
    objects = []
    for key, table in (("secrets", project.secrets), ("configs", project.configs)):
        used = {
            ref["source"]
            for svc in project.services.values()
            for ref in file_refs(svc.get(key), key)
        }
        for source, spec in table.items():
            if source not in used:
                continue
            spec = spec or {}
            name = dns_label(str(spec.get("name") or source))
            label = f"{key}.{source}: {short(spec)}"
            data_key = configmap_key(source)
            if as_bool(spec.get("external", False), f"{key}.{source}.external"):
                report.warn("compose file", label, f"existing {name}", "must already exist")
                continue
            if "file" in spec:
                path = Path(str(spec["file"])).expanduser()
                path = path if path.is_absolute() else project.base_dir / path
                try:
                    content = path.read_bytes()
                except OSError as err:
                    raise ConvertError(
                        f"{key}.{source}.file: cannot read {path} ({err.strerror})"
                    ) from None
            elif "environment" in spec:
                var = str(spec["environment"])
                if var not in project.environ:
                    raise ConvertError(f"{key}.{source}: environment variable {var} is not set")
                content = project.environ[var].encode()
            elif "content" in spec:
                content = str(spec["content"]).encode()
            else:
                raise ConvertError(f"{key}.{source}: needs file, environment, content or external")
            meta = {"name": name, "labels": {"app.kubernetes.io/managed-by": "docker2k8s"}}
            if key == "secrets":
                encoded = base64.b64encode(content).decode()
                objects.append(
                    {"apiVersion": "v1", "kind": "Secret", "metadata": meta, "type": "Opaque",
                     "data": {data_key: encoded}}
                )  # fmt: skip
                report.warn(
                    "compose file",
                    label,
                    f"Secret {name}",
                    "the value is in the output (base64 is not encryption): do not commit it",
                )
            else:
                objects.append(configmap_object(name, data_key, content) | {"metadata": meta})
                report.converted("compose file", label, f"ConfigMap {name}")
    return objects


def wait_script(host: str, port: int) -> str:
    """A shell loop until host:port accepts a TCP connection. It tries nc (busybox), then
    bash's /dev/tcp, then Python, so most images with a shell can run it (--wait-image)."""
    check = (
        f"nc -z -w 2 {host} {port} 2>/dev/null"
        f" || bash -c 'exec 3<>/dev/tcp/{host}/{port}' 2>/dev/null"
        f" || python3 -c 'import socket; socket.create_connection((\"{host}\", {port}), 2)'"
        " 2>/dev/null"
    )
    return f"until {check}; do echo waiting for {host}:{port}; sleep 2; done"
