"""Volumes, bind mounts, tmpfs, secrets and configs of one service."""

import re
from pathlib import Path
from typing import Any

from .errors import ConvertError
from .names import dns_label
from .normalize import as_bool, file_refs, mapping
from .project import SIZE_LABEL
from .quantities import parse_bytes, quantity_from_bytes
from .service_base import ServiceBase, configmap_key, configmap_object, pvc_object

_CONFIGMAP_MAX = 1 << 20  # the most a ConfigMap holds


class StorageMixin(ServiceBase):
    """do_<key> handlers that mount something: volumes, tmpfs, secrets, configs."""

    def _path(self, text: str) -> Path:
        path = Path(text).expanduser()
        return path if path.is_absolute() else (self.project.base_dir / path).resolve()

    def do_volumes(self, value: Any) -> None:
        for entry in value:
            self._volume(entry, self.item("volumes", entry))

    def _volume(self, entry: dict[str, Any], label: str) -> None:
        kind, target = entry["type"], entry["target"]
        mount: dict[str, Any] = {"mountPath": target}
        if entry.get("read_only"):
            mount["readOnly"] = True
        for option in entry.get("_options", []):
            self.report.note(
                self.name,
                f"{label} ({option})",
                "SELinux relabelling, consistency and propagation options are chosen by the "
                "volume plugin and kubelet",
            )
        if kind == "volume" and not entry.get("source"):
            self._mount_volume(f"anon-{target}", {"emptyDir": {}}, mount)
            self.report.warn(
                self.name,
                label,
                "emptyDir",
                "an anonymous volume: an emptyDir lives as long as the Pod, not longer",
            )
        elif kind == "volume":
            self._named(entry, mount, label)
        elif kind == "bind":
            self._bind(entry, mount, label)
        elif kind == "tmpfs":
            size = (entry.get("tmpfs") or {}).get("size")
            empty: dict[str, Any] = {"medium": "Memory"}
            if size is not None:
                empty["sizeLimit"] = quantity_from_bytes(parse_bytes(size, f"{label} size"))
            self._mount_volume(f"tmpfs-{target}", {"emptyDir": empty}, mount)
            self.report.converted(
                self.name, label, "emptyDir medium Memory", "a tmpfs that lives with the Pod"
            )
        else:
            self.report.unconverted(
                self.name, label, f"{kind} mounts have no Kubernetes equivalent here"
            )

    def _named(self, entry: dict[str, Any], mount: dict[str, Any], label: str) -> None:
        key = entry["source"]
        top = self.project.volumes.get(key)
        if top is None and not self.project.implicit_volumes:
            raise ConvertError(
                f"service {self.name!r} uses volume {key!r}, which is not declared under the "
                "top-level `volumes:`; declare it (or use ./path for a bind mount)"
            )
        top = top or {}
        claim = dns_label(str(top.get("name") or key))
        if sub := (entry.get("volume") or {}).get("subpath"):
            mount["subPath"] = sub
        if as_bool(top.get("external", False), f"volumes.{key}.external"):
            self._mount_volume(key, {"persistentVolumeClaim": {"claimName": claim}}, mount)
            self.report.warn(
                self.name,
                label,
                f"existing PVC {claim}",
                "external: the PVC must already exist in the namespace; none is written",
            )
            return
        users = self.project.volume_users.get(key, [])
        size = self._size(key, top)
        if self.kind == "StatefulSet" and users == [self.name]:
            self.claim_templates.append(pvc_object(self._mount_volume(key, {}, mount), size))
            self.report.converted(
                self.name,
                label,
                f"volumeClaimTemplate {dns_label(key)} ({size}, ReadWriteOnce)",
                f"each replica gets its own PVC ({dns_label(key)}-{self.k8s}-0...). A new PVC "
                "starts empty: unlike a new Docker volume it is not filled from the image"
                + (f"; {key!r} is not a valid Kubernetes name" if dns_label(key) != key else ""),
            )
            return
        self._mount_volume(key, {"persistentVolumeClaim": {"claimName": claim}}, mount)
        why = (
            "a new PVC starts empty: unlike a new Docker volume it is not filled from the "
            "image's files at that path"
        )
        if claim != str(top.get("name") or key):
            why += f"; {top.get('name') or key!r} is not a valid Kubernetes name, so: {claim}"
        if len(users) > 1:
            why += (
                f"; shared by {', '.join(users)}: ReadWriteOnce lets Pods share it only on one "
                "node, use a ReadWriteMany storage class across nodes"
            )
        became = f"PVC {claim} ({size}, ReadWriteOnce)"
        if SIZE_LABEL in mapping(top.get("labels"), f"volumes.{key}.labels"):
            self.report.converted(self.name, label, became, why)
        else:  # Compose has no size: the claim's is a guess, and a model cache outgrows guesses
            why = (
                f"{size} is a default: Docker volumes have no size. Set it with --volume-size, or "
                f"per volume with the label {SIZE_LABEL} (e.g. 50Gi for a model cache); " + why
            )
            self.report.warn(self.name, label, became, why)
        if users[0] == self.name:  # the first user writes the PVC
            self.objects.append(pvc_object(claim, size))
            self.objects[-1]["metadata"]["labels"] = {"app.kubernetes.io/managed-by": "docker2k8s"}
        for opt in ("driver", "driver_opts"):
            if top.get(opt) and users[0] == self.name:
                self.report.unconverted(
                    self.name,
                    f"volumes.{key}.{opt}",
                    "volume drivers are StorageClasses in Kubernetes: set storageClassName",
                )

    def _size(self, key: str, top: dict[str, Any]) -> str:
        labels = mapping(top.get("labels"), f"volumes.{key}.labels")
        if (text := labels.get(SIZE_LABEL)) is None:
            return self.options.volume_size
        return quantity_from_bytes(parse_bytes(text, f"volumes.{key}.labels.{SIZE_LABEL}"))

    def _bind(self, entry: dict[str, Any], mount: dict[str, Any], label: str) -> None:
        source = str(entry.get("source") or "")
        path = self._path(source)
        if path.is_file() and path.stat().st_size <= _CONFIGMAP_MAX:
            name = dns_label(f"{self.k8s}-{path.name}")
            key = configmap_key(path.name)
            self.add_object(configmap_object(name, key, path.read_bytes()))
            self._mount_volume(
                name, {"configMap": {"name": name}}, {**mount, "subPath": key, "readOnly": True}
            )
            self.report.warn(
                self.name,
                label,
                f"ConfigMap {name} mounted at {entry['target']} (subPath, read-only)",
                "a node cannot see files on your machine: the file's content goes into a "
                "ConfigMap. Edits need a re-apply and a Pod restart; the container cannot write it",
            )
            return
        host: dict[str, Any] = {"path": str(path)}
        create = (entry.get("bind") or {}).get("create_host_path", True)
        if not path.exists() and as_bool(create, f"{label} create_host_path"):
            host["type"] = "DirectoryOrCreate"
        elif path.is_dir():
            host["type"] = "Directory"
        self._mount_volume(f"host-{path.name}", {"hostPath": host}, mount)
        self.report.warn(
            self.name,
            label,
            f"hostPath {path}",
            "a bind mount reads the node's disk, not your machine's: it works on a one-node "
            "cluster only, and many clusters forbid hostPath. Prefer a PVC, or a ConfigMap for "
            "configuration files",
        )

    def do_tmpfs(self, value: Any) -> None:
        for text in [value] if isinstance(value, str) else value or []:
            target, _, opts = str(text).partition(":")
            size = re.search(r"size=([^,]+)", opts)
            entry = {"type": "tmpfs", "target": target, "_raw": text}
            if size:
                entry["tmpfs"] = {"size": size.group(1)}
            self._volume(entry, self.item("tmpfs", entry))

    def do_secrets(self, value: Any) -> None:
        self._files(value, "secrets")

    def do_configs(self, value: Any) -> None:
        self._files(value, "configs")

    def _files(self, value: Any, key: str) -> None:
        top = self.project.secrets if key == "secrets" else self.project.configs
        for ref in file_refs(value, f"{self.name}.{key}"):
            source = ref["source"]
            label = self.item(key, ref)
            if source not in top:
                raise ConvertError(
                    f"service {self.name!r} uses {key[:-1]} {source!r}, which is not declared "
                    f"under the top-level `{key}:`"
                )
            default = f"/run/secrets/{source}" if key == "secrets" else f"/{source}"
            target = str(ref.get("target") or default)
            if key == "secrets" and not target.startswith("/"):
                target = f"/run/secrets/{target}"
            name = dns_label(str(top[source].get("name") or source))
            data_key = configmap_key(source)
            kind = "secret" if key == "secrets" else "configMap"
            ref_source: dict[str, Any] = (
                {"secretName": name} if kind == "secret" else {"name": name}
            )
            if (mode := ref.get("mode")) is not None:
                ref_source["defaultMode"] = int(str(mode), 8) if isinstance(mode, str) else mode
            self._mount_volume(
                f"{key[:-1]}-{source}",
                {kind: ref_source},
                {"mountPath": target, "subPath": data_key, "readOnly": True},
            )
            what = "Secret" if kind == "secret" else "ConfigMap"
            self.report.converted(
                self.name, label, f"{what} {name} mounted at {target}", "a file, as in Compose"
            )
            if ref.get("uid") or ref.get("gid"):
                self.report.unconverted(
                    self.name, label, "file owner: use securityContext.fsGroup for group access"
                )
