"""The `local` provider: a single-node Kubernetes built from source and run as host processes.

Everything comes from the Go module proxy and Debian packages: Kubernetes, etcd, containerd,
runc and the add-ons are built by gobuild; the CNI plugins, iptables and openssl are Debian's.
The components run under one detached supervisor, so the cluster outlives the shell or notebook
that started it. Where things are: layout.py; what runs: components.py; certificates: pki.py;
configs: configs.py; the supervisor: supervisor.py and supervision.py; host changes and their
undoing: host.py, network.py, cleanup.py.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

from rich.console import Console

from docker2k8s import versions
from docker2k8s.errors import D2KError

from .. import gobuild, health, kubectl
from ..names import CLUSTER_DOMAIN, DNS_SERVICE_IP
from ..node_images import PAUSE
from ..provider import ComponentHealth
from . import cleanup, configs, containerd, host, network, supervision
from .components import components
from .dnsprobe import query_a
from .layout import CNI_NETWORK, NODE_NAME, Layout

KUBECTL_LINK = Path("/usr/local/bin/kubectl")


class LocalProvider:
    name = "local"
    ships: frozenset[str] = frozenset()
    managed = True

    def __init__(self, layout: Layout | None = None) -> None:
        self.layout = layout or Layout.default()

    # ---- the interface -----------------------------------------------------------------
    def exists(self) -> bool:
        return host.owned(self.layout.state)

    def up(self, console: Console) -> None:
        host.check_prerequisites(self.layout)
        # Programs and images first, with the usual umask: their files end up in images.
        for program in gobuild.CLUSTER_PROGRAMS:
            gobuild.build(program, console)
        PAUSE.ensure(console)
        self._link_kubectl()
        with host.private_files():
            for root in self.layout.roots:
                host.claim(root)
            with self._exclusive(console):
                self._up(console)

    def down(self, console: Console, purge: bool = False) -> None:
        if os.geteuid() != 0:
            raise D2KError("Stopping the local cluster needs root.", "sudo d2k cluster down")
        if not self.exists():
            console.print(f"no local cluster in {self.layout.state}")
            return
        host.claim(self.layout.run)  # gone after a reboot: /run is emptied
        with self._exclusive(console):
            self._down(console, purge)

    def status(self) -> list[ComponentHealth]:
        lay = self.layout
        sup = supervision.running(lay)
        rows = [
            ComponentHealth(
                "supervisor",
                sup is not None,
                f"pid {sup}" if sup else "not running",
                lay.logs / "supervisor.log",
            ),
            ComponentHealth("disk", *host.free_disk(lay)),
        ]
        for comp in components(lay, network.node_ip()):
            pid = supervision.running(lay, comp.name)
            ok, detail = comp.health() if pid else (False, "not running")
            detail = f"pid {pid}, {detail}" if pid else detail
            rows.append(ComponentHealth(comp.name, ok, detail, lay.logs / f"{comp.name}.log"))
        rows.append(ComponentHealth("DNS from the host", *self._dns_answers()))
        return rows

    def load_image(self, ref: str) -> None:
        if supervision.running(self.layout, "containerd") is None:
            raise D2KError("The local cluster is not running.", "d2k cluster up")
        containerd.import_image(ref, self.layout.containerd_socket, self.layout.images)

    def kubeconfig(self) -> Path:
        return self.layout.admin_kubeconfig

    def kubectl(
        self, *args: str, check: bool = True, stdin: str | None = None, timeout: float = 120
    ) -> subprocess.CompletedProcess[str]:
        binary = gobuild.KUBERNETES.binary("kubectl")
        return kubectl.run(
            binary, self.kubeconfig(), *args, check=check, stdin=stdin, timeout=timeout
        )

    def cluster_ca(self) -> tuple[str, str]:
        pki = self.layout.pki
        return (pki / "ca.crt").read_text(), (pki / "ca.key").read_text()

    def manifest_values(self) -> dict[str, str]:
        return {
            "volumes": str(self.layout.volumes),
            "kubelet_root": str(self.layout.kubelet_root),
            "cdi_dir": str(self.layout.cdi),
            # The node is this host: the registry answers on its loopback only.
            "registry_bind": "127.0.0.1",
            # Traefik's NodePorts answer on the node's address, which is this host's.
            "gateway_address": network.node_ip(),
            # The kubelet serves a certificate from the cluster CA, which every Pod can read.
            "kubelet_tls_flag": (
                "--kubelet-certificate-authority="
                "/var/run/secrets/kubernetes.io/serviceaccount/ca.crt"
            ),
        }

    # ---- up ------------------------------------------------------------------------------
    @contextlib.contextmanager
    def _exclusive(self, console: Console) -> Iterator[None]:
        """Serialize `up` and `down`: two at once would start the components twice."""
        with open(self.layout.run / "d2k-cluster.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                with console.status("waiting for another `d2k cluster up/down` to finish"):
                    fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def _up(self, console: Console) -> None:
        lay = self.layout
        self._check_release(console)
        node_ip = network.node_ip()
        configs.write_all(lay, node_ip, PAUSE.ref)
        host.save_sysctls(lay)
        # Pods reach the API server (which listens on 127.0.0.1) through d2k's NAT rules: in
        # place before any component starts, ahead of kube-proxy's.
        network.ensure_rules(node_ip)
        comps = {c.name: c for c in components(lay, node_ip)}
        started = supervision.start(lay, supervision.spec(lay, list(comps.values())))
        console.print(
            f"[bold]local cluster[/] {'starting' if started else 'already running'}: "
            f"Kubernetes {versions.KUBERNETES}, node {NODE_NAME} ({node_ip}), state in {lay.state}"
        )
        for name in ("etcd", "containerd", "kube-apiserver"):
            self._wait(console, name, comps[name].health)
        # The sandbox image must be there before the kubelet starts its first Pod.
        if containerd.import_image(PAUSE.ref, lay.containerd_socket, lay.images):
            console.print(f"imported {PAUSE.ref}")
        for name in ("kube-controller-manager", "kube-scheduler", "kubelet", "kube-proxy"):
            self._wait(console, name, comps[name].health)
        network.ensure_rules(node_ip)  # still first: a check, unless kube-proxy moved in front

    def _wait(self, console: Console, name: str, check: health.Check) -> None:
        log = self.layout.logs / f"{name}.log"
        health.wait(console, name, check, 120, hint=f"read {log}")

    def _check_release(self, console: Console) -> None:
        """The cluster's objects in etcd belong to the release that wrote them. On another
        minor release (an upgrade of the pin), keep them aside and start afresh."""
        stamp = self.layout.state / "kubernetes-version"
        made = stamp.read_text().strip() if stamp.exists() else None
        minor = versions.kubernetes_minor()
        data = self.layout.etcd_data
        if data.exists() and (made is None or not made.lstrip("v").startswith(f"{minor}.")):
            kept = data.with_name(f"etcd-from-{made or 'an-older-release'}")
            if supervision.running(self.layout):
                raise D2KError(
                    f"The running cluster is Kubernetes {made or 'of an older release'}; this "
                    f"d2k runs {versions.KUBERNETES}.",
                    "d2k cluster down, then d2k cluster up",
                )
            data.rename(kept)
            writer = made or "an older release"
            console.print(
                f"[yellow]The cluster's objects were written by Kubernetes {writer}; kept in "
                f"{kept}, starting a fresh {versions.KUBERNETES} cluster.[/]"
            )
        stamp.write_text(versions.KUBERNETES + "\n")

    def _link_kubectl(self) -> None:
        """Put the built kubectl on PATH unless another kubectl is installed there."""
        target = gobuild.KUBERNETES.binary("kubectl")
        if KUBECTL_LINK.is_symlink() or not KUBECTL_LINK.exists():
            KUBECTL_LINK.unlink(missing_ok=True)
            KUBECTL_LINK.symlink_to(target)

    def _dns_answers(self) -> tuple[bool, str]:
        name = f"kubernetes.default.svc.{CLUSTER_DOMAIN}"
        try:
            addrs = query_a(DNS_SERVICE_IP, name, timeout=1.0)
        except OSError as err:
            return False, f"{DNS_SERVICE_IP}: {err}"
        return bool(addrs), f"{name} -> {', '.join(addrs) or 'no answer'}"

    # ---- down ----------------------------------------------------------------------------
    def _down(self, console: Console, purge: bool) -> None:
        lay = self.layout
        with console.status("stopping cluster components"):
            supervision.stop(lay)
            supervision.stop_orphans(lay)
        with console.status("stopping pod containers"):
            killed = cleanup.kill_pods(lay)
        if killed:
            console.print(f"stopped {killed} pod processes")
        removed = network.remove_cni_leftovers(lay.cni_data_dir, CNI_NETWORK)
        cleanup.unmount(lay)
        network.remove_rules()
        proxy = gobuild.KUBERNETES.binary("kube-proxy")
        if proxy.exists():
            subprocess.run([str(proxy), "--cleanup"], capture_output=True)
            removed.append("kube-proxy iptables chains")
        removed += host.restore_sysctls(lay)
        console.print(f"removed: {', '.join(removed) or 'nothing left'}")
        if purge:
            for root in cleanup.purge(lay):
                console.print(f"purged {root}")
        console.print("[green]local cluster stopped[/]")
