"""The `local` backend: a single-node Kubernetes built from source and run as host processes.

Everything comes from the Go module proxy and Debian packages: Kubernetes and etcd are built
by gobuild, node images by node_images, and containerd, runc, the CNI plugins and iptables are
Debian's. The components run under one detached supervisor (supervisor.py); their pid files
and logs live in the state directory, so the cluster survives the shell or notebook that
started it.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from string import Template
from typing import Any

from rich.console import Console

from docker2k8s.images import image_id

from . import gobuild, kubeconfig, network, node_images, pki
from .backend import ComponentHealth
from .dnsprobe import query_a
from .errors import ClusterError
from .layout import (
    API_PORT,
    CLUSTER_DOMAIN,
    CNI_BRIDGE,
    CNI_NETWORK,
    CONTEXT_NAME,
    DNS_SERVICE_IP,
    ETCD_CLIENT_PORT,
    ETCD_PEER_PORT,
    KUBERNETES_VERSION,
    NODE_NAME,
    PAUSE_IMAGE,
    POD_CIDR,
    SERVICE_CIDR,
    Layout,
    repo_cluster_dir,
)

ADMIN_USER = "docker2k8s-admin"
ADDONS = ("coredns", "storage", "metrics-server", "gpu")
HOST_TOOLS = {
    "containerd": "containerd",
    "ctr": "containerd",
    "runc": "runc",
    "iptables": "iptables",
    "conntrack": "conntrack",
    "ip": "iproute2",
    "openssl": "openssl",
    "mount": "mount",
}
CNI_PLUGINS = ("bridge", "host-local", "portmap", "loopback")


@dataclass(frozen=True)
class Component:
    name: str
    argv: list[str]
    health: Callable[[], tuple[bool, str]]


def _http_ok(url: str, timeout: float = 2.0) -> tuple[bool, str]:
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE  # health endpoints on 127.0.0.1 serve self-signed certs
    try:
        with urllib.request.urlopen(url, timeout=timeout, context=ctx) as resp:
            return resp.status == 200, f"{url} -> {resp.status}"
    except urllib.error.HTTPError as err:
        return False, f"{url} -> {err.code}"
    except OSError as err:
        return False, f"{url} -> {getattr(err, 'reason', err)}"


def _pid_alive(pidfile: Path) -> int | None:
    """The pid in `pidfile` if that process still runs the component the file is named for
    (a zombie, or a recycled pid running something else, counts as gone)."""
    expect = "docker2k8s.cluster.supervisor" if pidfile.stem == "supervisor" else pidfile.stem
    try:
        pid = int(pidfile.read_text().strip())
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return None
    if stat.rsplit(")", 1)[1].split()[0] == "Z" or expect.encode() not in cmdline:
        return None
    return pid


# Started through a short-lived launcher so the supervisor is re-parented to init: a
# long-lived caller (a notebook kernel) then never holds it as a zombie.
_LAUNCHER = """
import subprocess, sys
with open(sys.argv[1], "ab") as log:
    proc = subprocess.Popen(sys.argv[2:], stdin=subprocess.DEVNULL, stdout=log,
                            stderr=subprocess.STDOUT, start_new_session=True, close_fds=True)
print(proc.pid)
"""


class LocalBackend:
    name = "local"

    def __init__(self, layout: Layout | None = None) -> None:
        self.layout = layout or Layout.default()

    # ---- prerequisites -------------------------------------------------------------
    def check_prerequisites(self) -> None:
        if os.geteuid() != 0:
            raise ClusterError(
                "The local cluster runs containerd, kubelet and iptables and needs root. "
                "Run `sudo d2k cluster up` (or run as root)."
            )
        missing = sorted({pkg for tool, pkg in HOST_TOOLS.items() if not shutil.which(tool)})
        missing += sorted(
            {
                "containernetworking-plugins"
                for p in CNI_PLUGINS
                if not Path("/usr/lib/cni", p).exists()
            }
        )
        if missing:
            raise ClusterError(
                f"Missing host packages for the local cluster: {', '.join(missing)}. "
                f"Install them with `apt-get install {' '.join(missing)}`."
            )
        gobuild.find_go()
        self.layout.state.mkdir(parents=True, exist_ok=True)
        free = shutil.disk_usage(self.layout.state).free
        if free < 4 * 2**30:
            raise ClusterError(
                f"Only {free / 2**30:.1f} GiB free under {self.layout.state}; the local cluster "
                "needs at least 4 GiB for etcd, containerd and images. Free some disk space."
            )

    # ---- configuration -------------------------------------------------------------
    def _binary(self, name: str) -> str:
        for program in gobuild.ALL_PROGRAMS:
            if name in program.binaries:
                return str(program.out_dir(self.layout) / name)
        raise KeyError(name)

    def kubectl_path(self) -> Path:
        return Path(self._binary("kubectl"))

    def _write_config(self, node_ip: str) -> None:
        lay = self.layout
        for d in (lay.config, lay.logs, lay.pids, lay.cni_conf_dir, lay.volumes):
            d.mkdir(parents=True, exist_ok=True)
        issued = lay.pki / "apiserver.crt"
        if issued.exists() and f"IP Address:{node_ip}" not in pki.serving_ips(lay.pki):
            # The node moved to another address: re-issue the certificates that name it.
            for name in ("apiserver", "kubelet-serving"):
                for ext in ("crt", "key"):
                    (lay.pki / f"{name}.{ext}").unlink(missing_ok=True)
        pki.ensure_pki(lay.pki, node_ip)
        server = f"https://127.0.0.1:{API_PORT}"
        ca = lay.pki / "ca.crt"
        for file, cert, user in (
            ("controller-manager", "controller-manager", "system:kube-controller-manager"),
            ("scheduler", "scheduler", "system:kube-scheduler"),
            ("kubelet", "kubelet-client", f"system:node:{NODE_NAME}"),
            ("kube-proxy", "kube-proxy", "system:kube-proxy"),
        ):
            config = kubeconfig.build(
                server, ca, lay.pki / f"{cert}.crt", lay.pki / f"{cert}.key", user
            )
            kubeconfig.write(lay.config / f"{file}.kubeconfig", config)
        kubeconfig.write(lay.admin_kubeconfig, self._admin_config())
        values = {
            "containerd_root": lay.containerd_root,
            "containerd_state": lay.containerd_state,
            "containerd_socket": lay.containerd_socket,
            "pause_image": PAUSE_IMAGE,
            "cni_conf_dir": lay.cni_conf_dir,
            "cni_data_dir": lay.cni_data_dir,
            "cni_network": CNI_NETWORK,
            "cni_bridge": CNI_BRIDGE,
            "pod_cidr": POD_CIDR,
            "node_ip": node_ip,
            "node_name": NODE_NAME,
            "pki": lay.pki,
            "config": lay.config,
            "cluster_domain": CLUSTER_DOMAIN,
            "dns_service_ip": DNS_SERVICE_IP,
            # Pods inherit it for upstream names; CoreDNS forwards to it too.
            "resolv_conf": "/etc/resolv.conf",
        }
        templates = repo_cluster_dir() / "local"
        for src, dst in (
            ("containerd.toml", lay.config / "containerd.toml"),
            ("kubelet-config.yaml", lay.config / "kubelet-config.yaml"),
            ("kube-proxy-config.yaml", lay.config / "kube-proxy-config.yaml"),
            ("cni.conflist", lay.cni_conf_dir / "10-docker2k8s.conflist"),
        ):
            text = Template((templates / src).read_text()).substitute(values)
            # kube-proxy exits when its config file is touched: only write real changes.
            if not dst.exists() or dst.read_text() != text:
                dst.write_text(text)

    def _admin_config(self) -> dict[str, Any]:
        p = self.layout.pki
        server = f"https://127.0.0.1:{API_PORT}"
        return kubeconfig.build(server, p / "ca.crt", p / "admin.crt", p / "admin.key", ADMIN_USER)

    def components(self, node_ip: str) -> list[Component]:
        lay, p, c = self.layout, self.layout.pki, self.layout.config
        etcd_url = f"http://127.0.0.1:{ETCD_CLIENT_PORT}"
        peer_url = f"http://127.0.0.1:{ETCD_PEER_PORT}"
        kcm = str(c / "controller-manager.kubeconfig")
        sched = str(c / "scheduler.kubeconfig")
        return [
            Component(
                "etcd",
                [
                    self._binary("etcd"),
                    "--name=docker2k8s",
                    f"--data-dir={lay.etcd_data}",
                    f"--listen-client-urls={etcd_url}",
                    f"--advertise-client-urls={etcd_url}",
                    f"--listen-peer-urls={peer_url}",
                    f"--initial-advertise-peer-urls={peer_url}",
                    f"--initial-cluster=docker2k8s={peer_url}",
                    "--listen-metrics-urls=http://127.0.0.1:2381",
                    "--snapshot-count=10000",
                    "--quota-backend-bytes=2147483648",
                ],
                lambda: _http_ok(f"{etcd_url}/health"),
            ),
            Component(
                "containerd",
                ["containerd", f"--config={c / 'containerd.toml'}"],
                lambda: self._containerd_health(),
            ),
            Component(
                "kube-apiserver",
                [
                    self._binary("kube-apiserver"),
                    "--bind-address=127.0.0.1",
                    f"--advertise-address={node_ip}",
                    f"--secure-port={API_PORT}",
                    f"--etcd-servers={etcd_url}",
                    "--authorization-mode=Node,RBAC",
                    "--enable-admission-plugins=NodeRestriction",
                    "--allow-privileged=true",
                    f"--client-ca-file={p / 'ca.crt'}",
                    f"--tls-cert-file={p / 'apiserver.crt'}",
                    f"--tls-private-key-file={p / 'apiserver.key'}",
                    f"--kubelet-client-certificate={p / 'apiserver-kubelet-client.crt'}",
                    f"--kubelet-client-key={p / 'apiserver-kubelet-client.key'}",
                    "--kubelet-preferred-address-types=InternalIP,Hostname",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                    f"--service-account-issuer=https://kubernetes.default.svc.{CLUSTER_DOMAIN}",
                    f"--service-account-key-file={p / 'sa.pub'}",
                    f"--service-account-signing-key-file={p / 'sa.key'}",
                    f"--requestheader-client-ca-file={p / 'front-proxy-ca.crt'}",
                    "--requestheader-allowed-names=front-proxy-client",
                    "--requestheader-username-headers=X-Remote-User",
                    "--requestheader-group-headers=X-Remote-Group",
                    "--requestheader-extra-headers-prefix=X-Remote-Extra-",
                    f"--proxy-client-cert-file={p / 'front-proxy-client.crt'}",
                    f"--proxy-client-key-file={p / 'front-proxy-client.key'}",
                    "--enable-aggregator-routing=true",
                    "--profiling=false",
                ],
                lambda: _http_ok(f"https://127.0.0.1:{API_PORT}/readyz"),
            ),
            Component(
                "kube-controller-manager",
                [
                    self._binary("kube-controller-manager"),
                    f"--kubeconfig={kcm}",
                    f"--authentication-kubeconfig={kcm}",
                    f"--authorization-kubeconfig={kcm}",
                    "--bind-address=127.0.0.1",
                    f"--cluster-signing-cert-file={p / 'ca.crt'}",
                    f"--cluster-signing-key-file={p / 'ca.key'}",
                    f"--root-ca-file={p / 'ca.crt'}",
                    f"--service-account-private-key-file={p / 'sa.key'}",
                    f"--requestheader-client-ca-file={p / 'front-proxy-ca.crt'}",
                    "--use-service-account-credentials=true",
                    f"--service-cluster-ip-range={SERVICE_CIDR}",
                    "--controllers=*,bootstrapsigner,tokencleaner",
                    "--leader-elect=false",
                    "--profiling=false",
                ],
                lambda: _http_ok("https://127.0.0.1:10257/healthz"),
            ),
            Component(
                "kube-scheduler",
                [
                    self._binary("kube-scheduler"),
                    f"--kubeconfig={sched}",
                    f"--authentication-kubeconfig={sched}",
                    f"--authorization-kubeconfig={sched}",
                    "--bind-address=127.0.0.1",
                    "--leader-elect=false",
                    "--profiling=false",
                ],
                lambda: _http_ok("https://127.0.0.1:10259/healthz"),
            ),
            Component(
                "kube-proxy",
                [self._binary("kube-proxy"), f"--config={c / 'kube-proxy-config.yaml'}"],
                lambda: _http_ok("http://127.0.0.1:10256/healthz"),
            ),
            Component(
                "kubelet",
                [
                    self._binary("kubelet"),
                    f"--config={c / 'kubelet-config.yaml'}",
                    f"--kubeconfig={c / 'kubelet.kubeconfig'}",
                    f"--hostname-override={NODE_NAME}",
                    f"--node-ip={node_ip}",
                    f"--root-dir={lay.kubelet_root}",
                ],
                lambda: _http_ok("http://127.0.0.1:10248/healthz"),
            ),
        ]

    def _containerd_health(self) -> tuple[bool, str]:
        sock = self.layout.containerd_socket
        done = subprocess.run(
            ["ctr", "--address", str(sock), "version"], capture_output=True, text=True, timeout=5
        )
        if done.returncode == 0:
            return True, f"{sock} answers"
        return False, f"{sock}: {done.stderr.strip() or 'no answer'}"

    # ---- supervisor ------------------------------------------------------------------
    @property
    def _supervisor_pidfile(self) -> Path:
        return self.layout.pids / "supervisor.pid"

    @property
    def _spec_path(self) -> Path:
        return self.layout.config / "supervisor.json"

    def _config_digest(self) -> str:
        """Changes when any rendered config or certificate changes, to restart on `up`."""
        digest = hashlib.sha256()
        lay = self.layout
        for path in sorted(
            [*lay.config.glob("*"), *lay.pki.glob("*"), *lay.cni_conf_dir.glob("*")]
        ):
            if path.is_file() and path.name != "supervisor.json":
                digest.update(path.name.encode() + path.read_bytes())
        return digest.hexdigest()

    def _spec(self, node_ip: str) -> dict[str, object]:
        lay = self.layout
        path = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
        # Pods reach the API server through d2k's NAT rules, which must sit before
        # kube-proxy's: install them after kube-proxy hooks in and before the kubelet starts.
        rules = [sys.executable, "-m", "docker2k8s.cluster.network", node_ip]
        return {
            "config_digest": self._config_digest(),
            "components": [
                {
                    "name": comp.name,
                    "argv": comp.argv,
                    "env": {"PATH": path},
                    "log": str(lay.logs / f"{comp.name}.log"),
                    "pidfile": str(lay.pids / f"{comp.name}.pid"),
                    "before": rules if comp.name == "kubelet" else None,
                }
                for comp in self.components(node_ip)
            ],
        }

    def _start_supervisor(self, node_ip: str) -> bool:
        """Start the supervisor unless it already runs this exact spec; True if started."""
        spec = json.dumps(self._spec(node_ip), indent=1)
        running = _pid_alive(self._supervisor_pidfile)
        if running and self._spec_path.exists() and self._spec_path.read_text() == spec:
            return False
        if running:
            self._stop_supervisor()
        self._stop_orphans()
        self._spec_path.write_text(spec)
        launched = subprocess.run(
            [
                sys.executable,
                "-c",
                _LAUNCHER,
                str(self.layout.logs / "supervisor.log"),
                *(sys.executable, "-m", "docker2k8s.cluster.supervisor", str(self._spec_path)),
            ],
            capture_output=True,
            text=True,
            check=True,
        )
        self._supervisor_pidfile.write_text(f"{int(launched.stdout)}\n")
        return True

    def _stop_orphans(self, timeout: float = 30.0) -> None:
        """Stop components left running by a supervisor that died (they would hold the ports)."""
        pids = [
            pid
            for pidfile in (self.layout.pids.glob("*.pid") if self.layout.pids.exists() else [])
            if pidfile.name != "supervisor.pid" and (pid := _pid_alive(pidfile))
        ]
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and any(Path(f"/proc/{p}").exists() for p in pids):
            time.sleep(0.5)
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)

    def _stop_supervisor(self, timeout: float = 180.0) -> None:
        pid = _pid_alive(self._supervisor_pidfile)
        if pid is None:
            return
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _pid_alive(self._supervisor_pidfile):
            time.sleep(0.5)
        if _pid_alive(self._supervisor_pidfile):
            os.kill(pid, signal.SIGKILL)
        self._supervisor_pidfile.unlink(missing_ok=True)

    # ---- kubectl -----------------------------------------------------------------------
    def kubectl(
        self, *args: str, check: bool = True, stdin: str | None = None
    ) -> subprocess.CompletedProcess[str]:
        done = subprocess.run(
            [str(self.kubectl_path()), f"--kubeconfig={self.layout.admin_kubeconfig}", *args],
            capture_output=True,
            text=True,
            input=stdin,
        )
        if check and done.returncode != 0:
            raise ClusterError(f"kubectl {' '.join(args)} failed: {done.stderr.strip()}")
        return done

    def _node_ready(self) -> tuple[bool, str]:
        done = self.kubectl(
            "get",
            "node",
            NODE_NAME,
            "-o",
            'jsonpath={.status.conditions[?(@.type=="Ready")].status}',
            check=False,
        )
        ready = done.stdout.strip() == "True"
        return ready, f"node {NODE_NAME} Ready={done.stdout.strip() or 'unknown'}"

    def _dns_answers(self) -> tuple[bool, str]:
        name = f"kubernetes.default.svc.{CLUSTER_DOMAIN}"
        try:
            addrs = query_a(DNS_SERVICE_IP, name, timeout=1.0)
        except OSError as err:
            return False, f"{DNS_SERVICE_IP}: {err}"
        return bool(addrs), f"{name} -> {', '.join(addrs) or 'no answer'}"

    # ---- the interface -----------------------------------------------------------------
    @contextlib.contextmanager
    def _exclusive(self, console: Console) -> Iterator[None]:
        """Serialize `up` and `down`: two at once would start the components twice."""
        self.layout.run.mkdir(parents=True, exist_ok=True)
        with open(self.layout.run / "d2k-cluster.lock", "w") as lock:
            try:
                fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except OSError:
                with console.status("waiting for another `d2k cluster up/down` to finish"):
                    fcntl.flock(lock, fcntl.LOCK_EX)
            yield

    def up(self, console: Console | None = None) -> None:
        console = console or Console(stderr=True)
        self.check_prerequisites()
        with self._exclusive(console):
            self._up(console)

    def _up(self, console: Console) -> None:
        for program in gobuild.ALL_PROGRAMS:
            if not program.module_dir().exists():
                continue
            gobuild.build(program, self.layout, console)
        self._link_kubectl()
        node_ip = network.node_ip()
        self._write_config(node_ip)
        started = self._start_supervisor(node_ip)
        console.print(
            f"[bold]local cluster[/] {'starting' if started else 'already running'}: "
            f"Kubernetes {KUBERNETES_VERSION}, node {NODE_NAME} ({node_ip}), "
            f"state in {self.layout.state}"
        )
        comps = {c.name: c for c in self.components(node_ip)}
        for name in ("etcd", "containerd", "kube-apiserver"):
            self._wait(console, name, comps[name].health, 120)
        with console.status("importing node images into containerd"):
            binaries = {
                b: program.out_dir(self.layout) / b
                for program in gobuild.ALL_PROGRAMS
                for b in program.binaries
            }
            imported = node_images.ensure_node_images(
                {k: v for k, v in binaries.items() if v.exists()}, self.layout.containerd_socket
            )
        if imported:
            console.print(f"imported {', '.join(imported)}")
        self._ensure_gpu_plugin_image(console)
        for name in ("kube-controller-manager", "kube-scheduler", "kube-proxy", "kubelet"):
            self._wait(console, name, comps[name].health, 120)
        network.ensure_rules(node_ip)
        self._wait(console, "node", self._node_ready, 180)
        self._apply_addons(console)
        self._wait(console, "cluster DNS", self._dns_answers, 180)
        kubeconfig.merge_into(Path.home() / ".kube" / "config", self._admin_config())
        console.print(
            f"[green]cluster ready[/]: kubectl context [bold]{CONTEXT_NAME}[/] "
            f"(~/.kube/config and {self.layout.admin_kubeconfig})"
        )

    def _wait(
        self, console: Console, what: str, check: Callable[[], tuple[bool, str]], timeout: float
    ) -> None:
        deadline = time.monotonic() + timeout
        detail = ""
        with console.status(f"waiting for {what}") as status:
            while time.monotonic() < deadline:
                ok, detail = check()
                if ok:
                    console.print(f"[green]✓[/] {what}: {detail}")
                    return
                status.update(f"waiting for {what}: {detail}")
                time.sleep(1.0)
        log = self.layout.logs / f"{what}.log"
        hint = f" See {log}." if log.exists() else f" See the logs in {self.layout.logs}."
        raise ClusterError(f"{what} did not become healthy within {timeout:.0f}s: {detail}.{hint}")

    def _ensure_gpu_plugin_image(self, console: Console) -> None:
        """The simulated GPU device plugin runs from an image built here (a cached docker build);
        it is imported again only when the build produced a new image."""
        from docker2k8s.gpu.image import ImageBuildError, build_plugin_image

        with console.status("building the simulated GPU device plugin image"):
            try:
                ref = build_plugin_image(log_path=self.layout.logs / "build-gpu-plugin.log")
            except ImageBuildError as error:
                raise ClusterError(f"The GPU device plugin image: {error}") from None
        built = image_id(ref) or ""  # build_plugin_image just made it
        stamp = self.layout.state / "gpu-plugin.image-id"
        if stamp.exists() and stamp.read_text() == built:
            return
        with console.status(f"importing {ref} into containerd"):
            node_images.import_into_containerd(ref, self.layout.containerd_socket)
        stamp.write_text(built)
        console.print(f"imported {ref}")

    def _apply_addons(self, console: Console) -> None:
        root = repo_cluster_dir() / "addons"
        values = {"volumes": str(self.layout.volumes)}  # moves with D2K_CLUSTER_STATE_DIR
        for addon in ADDONS:
            manifests = sorted((root / addon).glob("*.yaml"))
            if not manifests:
                continue
            docs = [Template(m.read_text()).substitute(values) for m in manifests]
            self.kubectl("apply", "-f", "-", stdin="\n---\n".join(docs))
            console.print(f"[green]✓[/] add-on {addon} applied")

    def _link_kubectl(self) -> None:
        """Put the built kubectl on PATH unless another kubectl is installed there."""
        link = Path("/usr/local/bin/kubectl")
        target = self.kubectl_path()
        if link.is_symlink() or not link.exists():
            link.unlink(missing_ok=True)
            link.symlink_to(target)

    def down(self, console: Console | None = None, purge: bool = False) -> None:
        console = console or Console(stderr=True)
        if os.geteuid() != 0:
            raise ClusterError("Stopping the local cluster needs root: `sudo d2k cluster down`.")
        with self._exclusive(console):
            self._down(console, purge)

    def _down(self, console: Console, purge: bool) -> None:
        with console.status("stopping cluster components"):
            self._stop_supervisor()
            self._stop_orphans()
            for pidfile in self.layout.pids.glob("*.pid") if self.layout.pids.exists() else []:
                pidfile.unlink(missing_ok=True)
        with console.status("stopping pod containers"):
            killed = self._kill_pods()
        if killed:
            console.print(f"stopped {killed} pod processes")
        self._unmount_pod_state()
        removed = network.remove_cni_leftovers(self.layout.cni_data_dir, CNI_NETWORK)
        network.remove_rules()
        proxy = Path(self._binary("kube-proxy"))
        if proxy.exists():
            subprocess.run([str(proxy), "--cleanup"], capture_output=True)
            removed.append("kube-proxy iptables chains")
        console.print(f"removed: {', '.join(removed) or 'nothing left'}")
        if purge:
            for path in (self.layout.state, self.layout.run, self.layout.kubelet_root):
                shutil.rmtree(path, ignore_errors=True)
            kubeconfig.remove_from(Path.home() / ".kube" / "config", ADMIN_USER)
            console.print(f"purged cluster state {self.layout.state}")
        console.print("[green]local cluster stopped[/]")

    def _kill_pods(self) -> int:
        """SIGKILL every process in the kubelet's pod cgroups, then the containerd shims."""
        pids: set[int] = set()
        for procs in Path("/sys/fs/cgroup").glob("*/kubepods/**/cgroup.procs"):
            try:
                pids.update(int(x) for x in procs.read_text().split())
            except OSError:
                continue
        sock = str(self.layout.containerd_socket)
        for cmdline in Path("/proc").glob("[0-9]*/cmdline"):
            try:
                args = cmdline.read_bytes().split(b"\0")
            except OSError:
                continue
            if args and args[0].endswith(b"containerd-shim-runc-v2") and sock.encode() in args:
                pids.add(int(cmdline.parent.name))
        for pid in pids:
            with contextlib.suppress(OSError):
                os.kill(pid, signal.SIGKILL)
        time.sleep(0.5 if pids else 0)
        for cgroup in sorted(
            Path("/sys/fs/cgroup").glob("*/kubepods/**/"), key=lambda p: -len(p.parts)
        ):
            with contextlib.suppress(OSError):
                cgroup.rmdir()
        return len(pids)

    def _unmount_pod_state(self) -> None:
        prefixes = (
            str(self.layout.kubelet_root) + "/",
            str(self.layout.containerd_state) + "/",
            str(self.layout.containerd_root) + "/",
        )
        mounts = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
        for target in sorted((m for m in mounts if m.startswith(prefixes)), key=len, reverse=True):
            subprocess.run(["umount", "-l", target], capture_output=True)

    def status(self) -> list[ComponentHealth]:
        lay = self.layout
        result = []
        sup = _pid_alive(self._supervisor_pidfile)
        result.append(
            ComponentHealth(
                "supervisor",
                sup is not None,
                f"pid {sup}" if sup else "not running",
                lay.logs / "supervisor.log",
            )
        )
        node_ip = network.node_ip()
        for comp in self.components(node_ip):
            pid = _pid_alive(lay.pids / f"{comp.name}.pid")
            if pid is None:
                ok, detail = False, "not running"
            else:
                ok, detail = comp.health()
                detail = f"pid {pid}, {detail}"
            result.append(ComponentHealth(comp.name, ok, detail, lay.logs / f"{comp.name}.log"))
        if result[0].healthy and self.kubectl_path().exists():
            ok, detail = self._node_ready()
            result.append(ComponentHealth("node", ok, detail))
            ok, detail = self._dns_answers()
            result.append(ComponentHealth("cluster DNS", ok, detail))
        return result

    def load_image(self, name: str) -> None:
        if _pid_alive(self.layout.pids / "containerd.pid") is None:
            raise ClusterError("The local cluster is not running; start it with `d2k cluster up`.")
        node_images.require_docker()
        if image_id(name) is None:
            raise ClusterError(
                f"No local Docker image named {name!r}; build it first (`docker build -t {name} .`)"
            )
        node_images.import_into_containerd(name, self.layout.containerd_socket)

    def kubeconfig(self) -> Path:
        return self.layout.admin_kubeconfig
