"""The `external` provider: an existing cluster, named by a kubeconfig context.

A company GPU cluster, a cloud cluster, a classroom cluster: `d2k cluster use CONTEXT` points the
workshop at it. d2k never starts, stops or changes that cluster and installs nothing there;
images reach its nodes through a registry (`--registry`), and `d2k cluster status` says what the
labs need that it lacks, with the fix. This is how the workshop goes past one machine.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from rich.console import Console

from docker2k8s import shell
from docker2k8s.errors import D2KError

from . import kubeconfig, kubectl, record, registry
from .addons import ADDONS
from .names import CONTEXT_NAME
from .provider import ComponentHealth


def use(context: str, source: Path, registry_address: str | None) -> None:
    """Copy `context` from the kubeconfig `source` as the workshop's context and record it."""
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
    kubeconfig.write(ExternalProvider.kubeconfig_path(), config)
    record.save(
        "external", {"context": context, "source": str(source), "registry": registry_address}
    )


class ExternalProvider:
    name = "external"
    # d2k installs nothing on a cluster it does not own: `status` reports what is missing.
    ships = frozenset(a.name for a in ADDONS)
    managed = False

    def __init__(self) -> None:
        settings = record.settings()
        self.context: str = settings.get("context", "")
        self.registry: str | None = settings.get("registry")

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
        # Nothing is installed here; these are the usual values of a kubeadm-made cluster.
        return {
            "kubelet_root": "/var/lib/kubelet",
            "cdi_dir": "/var/run/cdi",
            "registry_bind": "0.0.0.0",
            "kubelet_tls_flag": "--kubelet-insecure-tls",
            "gateway_address": self.node_address(),
        }

    def node_address(self) -> str:
        """The first node's InternalIP: where NodePorts answer, as far as d2k can tell."""
        return self.kubectl(
            "get",
            "nodes",
            "-o",
            'jsonpath={.items[0].status.addresses[?(@.type=="InternalIP")].address}',
        ).stdout.strip()

    def cluster_ca(self) -> tuple[str, str]:
        raise D2KError(
            "d2k does not hold the CA key of an external cluster.",
            "install add-ons with webhooks there the way its admins install software",
        )
