"""The `external` provider: an existing cluster, named by a kubeconfig context.

A company GPU cluster, a cloud cluster, a classroom cluster: `d2k cluster use CONTEXT` points the
workshop at it. d2k never starts or stops that cluster; images reach its nodes through a
registry (`--registry`), and `d2k cluster status` says what the labs need that it lacks, with
the fix. Only with `--install-addons` (an instructor preparing a classroom cluster, say) does d2k
install there the workshop add-ons for what is missing: a default StorageClass, the metrics API,
Kueue, Gateway API and Ingress. This is how the workshop goes past one machine.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

from rich.console import Console

from docker2k8s import shell
from docker2k8s.errors import D2KError

from . import health, kubeconfig, kubectl, record, registry, webhooks
from .addons import ADDONS, template_values
from .names import CONTEXT_NAME
from .provider import ComponentHealth

# The longest lab namespace ("lab07") must still fit a DNS label with the prefix before it.
_LONGEST_LAB = len("lab07")


def use(
    context: str,
    source: Path,
    registry_address: str | None,
    namespace_prefix: str,
    install_addons: bool = False,
) -> None:
    """Copy `context` from the kubeconfig `source` as the workshop's context and record it; with
    `install_addons`, also the workshop add-ons for what the labs need and the cluster lacks."""
    if install_addons and not registry_address:
        raise D2KError(
            "--install-addons needs --registry: the add-ons' images reach the nodes through it.",
            "d2k cluster use CONTEXT --registry HOST/PATH --install-addons",
        )
    if namespace_prefix and not (
        re.fullmatch(r"[a-z0-9]([-a-z0-9]*)?", namespace_prefix)
        and len(namespace_prefix) + _LONGEST_LAB <= 63
    ):
        raise D2KError(
            f"--namespace-prefix {namespace_prefix!r} cannot start a namespace name.",
            "use lowercase letters, digits and '-', starting with a letter or digit, at most "
            f"{63 - _LONGEST_LAB} characters (for example alice-)",
        )
    listed = shell.run(
        [kubectl.binary(), f"--kubeconfig={source}", "config", "get-contexts", "-o", "name"],
        what=f"reading the contexts of {source}",
    ).stdout.split()
    if context not in listed:
        raise D2KError(
            f"{source} has no context {context!r} (it has: {', '.join(listed) or 'none'}).",
            "name one of those, or point --kubeconfig at the file that has it",
        )
    view = shell.run(
        [kubectl.binary(), f"--kubeconfig={source}", "config", "view", "--raw", "--minify",
         "--flatten", f"--context={context}"],
        what=f"reading context {context}",
    ).stdout  # fmt: skip
    config = kubeconfig.renamed(kubeconfig.load_text(view, str(source)), f"{CONTEXT_NAME}-external")
    # Add-ons installed by an earlier `use` of the same context stay the workshop's to keep.
    before = record.settings() if record.provider() == "external" else {}
    addons = before.get("addons", []) if before.get("context") == context else []
    kubeconfig.write(ExternalProvider.kubeconfig_path(), config)
    settings = {
        "context": context,
        "source": str(source),
        "registry": registry_address,
        "namespace_prefix": namespace_prefix,
        "addons": addons,
    }
    record.save("external", settings)
    if install_addons:
        missing = health.addons_for_missing_needs(ExternalProvider())
        record.save("external", settings | {"addons": sorted({*addons, *missing})})


class ExternalProvider:
    name = "external"
    managed = False
    ships = frozenset(a.name for a in ADDONS)  # nothing of d2k's, unless chosen (__init__)

    def __init__(self) -> None:
        settings = record.settings()
        self.context: str = settings.get("context", "")
        self.registry: str | None = settings.get("registry")
        self.namespace_prefix: str = settings.get("namespace_prefix") or ""
        # Installed by `use --install-addons`; everything else is the cluster's own business,
        # and `status` reports what is missing.
        self.addons: list[str] = settings.get("addons") or []
        self.ships = frozenset(a.name for a in ADDONS) - set(self.addons)

    @staticmethod
    def kubeconfig_path() -> Path:
        return Path.home() / ".kube" / "docker2k8s-external.yaml"

    def exists(self) -> bool:
        return self.kubeconfig_path().exists()

    def up(self, console: Console) -> None:
        if not self.exists():
            raise D2KError(
                "No external cluster is chosen.",
                "d2k cluster use CONTEXT [--kubeconfig FILE] [--registry HOST/PATH]",
            )
        done = self.kubectl("get", "--raw", "/readyz", check=False, timeout=20)
        if done.returncode != 0:
            raise D2KError(
                f"The API server of context {self.context!r} does not answer: "
                f"{done.stderr.strip()[-300:]}",
                "check the VPN or network to it, and that its credentials have not expired "
                "(`kubectl --context CONTEXT get nodes`)",
            )
        console.print(f"[green]✓[/] API server of context {self.context} answers")

    def down(self, console: Console, purge: bool = False) -> None:
        console.print(
            f"The external cluster ({self.context}) is not d2k's to stop; "
            + ("the workshop forgets it." if purge else "`--purge` makes the workshop forget it.")
        )
        if purge:
            self.kubeconfig_path().unlink(missing_ok=True)

    def status(self) -> list[ComponentHealth]:
        rows = [ComponentHealth("context", self.exists(), f"{self.context} (d2k cluster use)")]
        if self.registry:
            rows.append(ComponentHealth("registry", True, f"images go to {self.registry}"))
        else:
            missing = (
                "none chosen: the nodes cannot get the workshop's images; "
                "d2k cluster use CONTEXT --registry HOST/PATH"
            )
            rows.append(ComponentHealth("registry", False, missing))
        if self.namespace_prefix:
            example = f"{self.namespace_prefix}lab03"
            rows.append(ComponentHealth("lab namespaces", True, f"prefixed: {example}, ..."))
        return rows

    def load_image(self, ref: str) -> None:
        """The nodes pull from the registry: push there (`docker login` to it first)."""
        if not self.registry:
            raise D2KError(
                f"Cannot get {ref} to the external cluster's nodes: no registry is chosen.",
                "d2k cluster use CONTEXT --registry HOST/PATH",
            )
        registry.push(ref, self.registry)

    def kubeconfig(self) -> Path:
        return self.kubeconfig_path()

    def kubectl(
        self, *args: str, check: bool = True, stdin: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        return kubectl.run(
            kubectl.binary(), self.kubeconfig(), *args, check=check, stdin=stdin, timeout=timeout
        )

    def manifest_values(self) -> dict[str, str]:
        # The usual values of a kubeadm-made cluster; add-on images come from its registry.
        values = {
            "kubelet_root": "/var/lib/kubelet",
            "cdi_dir": "/var/run/cdi",
            "volumes": "/opt/local-path-provisioner",  # local-path-provisioner's own default
            "registry_bind": "0.0.0.0",
            "kubelet_tls_flag": "--kubelet-insecure-tls",
            "gateway_address": self.node_address(),
            "image_pull_policy": "IfNotPresent",
        }
        if self.registry:
            images = {k: v for k, v in template_values().items() if k.endswith("_image")}
            values |= {k: registry.target(v, self.registry) for k, v in images.items()}
        return values

    def node_address(self) -> str:
        """The first node's InternalIP: where NodePorts answer, as far as d2k can tell."""
        return self.kubectl(
            "get",
            "nodes",
            "-o",
            'jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}',
        ).stdout.strip()

    def cluster_ca(self) -> tuple[str, str]:
        """d2k holds no CA key of a cluster it does not run: its add-ons' webhooks get their
        certificates from a CA of the workshop's own, made once and kept beside the kubeconfig."""
        cert, key = (self.kubeconfig_path().with_name(f"docker2k8s-external-ca.{e}")
                     for e in ("crt", "key"))  # fmt: skip
        if not (cert.exists() and key.exists()):
            made = webhooks.make_ca("docker2k8s webhook CA")
            for path, text in zip((cert, key), made, strict=True):
                path.touch(mode=0o600)
                path.write_text(text)
        return cert.read_text(), key.read_text()
