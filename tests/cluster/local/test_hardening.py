"""The local cluster's host hardening, each item tried for real: etcd behind client
certificates, private files, NodePorts on the node's address only, a purge that deletes only
the cluster's own directories, and a `down` that kills only the cluster's own processes."""

from __future__ import annotations

import os
import socket
import ssl
import stat
import subprocess
import sys
import threading
import urllib.request
import uuid
from pathlib import Path

import pytest
from cluster_workload import apply_manifest
from kubernetes import client
from polling import wait_for

from docker2k8s.cluster import kubeconfig
from docker2k8s.cluster.local import LocalProvider, cleanup, host, pki
from docker2k8s.cluster.local.layout import ETCD_CLIENT_PORT, ETCD_PEER_PORT, MARKER, Layout
from docker2k8s.errors import D2KError


def _tls_get(port: int, pki_dir: Path, cert: str | None) -> str:
    """GET /version from etcd presenting the client certificate `cert` (or none)."""
    ctx = ssl.create_default_context(cafile=str(pki_dir / "etcd-ca.crt"))
    if cert:
        ctx.load_cert_chain(pki_dir / f"{cert}.crt", pki_dir / f"{cert}.key")
    with urllib.request.urlopen(f"https://127.0.0.1:{port}/version", context=ctx, timeout=5) as r:
        return r.read().decode()


@pytest.mark.cluster
def test_etcd_answers_only_clients_with_an_etcd_certificate(local: LocalProvider) -> None:
    p = local.layout.pki
    assert "etcdserver" in _tls_get(ETCD_CLIENT_PORT, p, "etcd-admin")
    # No certificate, or one from the cluster CA (which signs CSRs anyone may file): refused.
    for cert in (None, "admin"):
        with pytest.raises(OSError):
            _tls_get(ETCD_CLIENT_PORT, p, cert)
    with pytest.raises(OSError):
        _tls_get(ETCD_PEER_PORT, p, None)
    # Plain HTTP gets no answer from the API at all.
    with pytest.raises(OSError):
        urllib.request.urlopen(f"http://127.0.0.1:{ETCD_CLIENT_PORT}/version", timeout=5)


@pytest.mark.cluster
def test_state_is_private(local: LocalProvider) -> None:
    lay = local.layout
    for root in lay.roots:
        assert stat.S_IMODE(root.stat().st_mode) == 0o700, root
        assert (root / MARKER).is_file(), root
    secrets = [
        *lay.pki.glob("*.key"),
        *lay.config.glob("*.kubeconfig"),
        lay.admin_kubeconfig,
        kubeconfig.user_kubeconfig(),
    ]
    assert len(secrets) > 15, secrets
    loose = [
        f"{s} {oct(stat.S_IMODE(s.stat().st_mode))}" for s in secrets if s.stat().st_mode & 0o077
    ]
    assert not loose, loose


def test_keys_are_private_from_their_first_byte(tmp_path: Path) -> None:
    """Watch the directory while the certificates are made: no key is ever readable by others,
    not even for a moment (openssl runs under d2k's umask 077, in a private scratch dir)."""
    seen: dict[str, int] = {}
    done = threading.Event()

    def watch() -> None:
        while not done.is_set():
            try:
                for path in tmp_path.rglob("*"):
                    seen[str(path)] = seen.get(str(path), 0) | path.stat().st_mode
            except OSError:  # a scratch file or directory went away while listed
                continue

    watcher = threading.Thread(target=watch)
    old = os.umask(0o077)
    watcher.start()
    try:
        pki.ensure_pki(tmp_path / "pki", "192.0.2.10")
        kubeconfig.write_private(tmp_path / "admin.kubeconfig", "secret: yes\n")
    finally:
        done.set()
        watcher.join()
        os.umask(old)
    private = [p for p in seen if p.endswith((".key", ".kubeconfig")) or "/.new-" in p]
    assert len(private) > 10, seen
    loose = [p for p in private if seen[p] & 0o077]
    assert not loose, loose


@pytest.mark.cluster
def test_node_ports_answer_on_the_node_address_only(
    local: LocalProvider, kubectl, core: client.CoreV1Api, namespace: str, echo_image: str
) -> None:
    apply_manifest(kubectl, namespace, "web.yaml", echo_image)
    kubectl("-n", namespace, "rollout", "status", "deployment/web", "--timeout=120s")
    port = core.read_namespaced_service("web-nodeport", namespace).spec.ports[0].node_port
    node = core.list_node().items[0]
    node_ip = next(a.address for a in node.status.addresses if a.type == "InternalIP")

    def fetch(host: str) -> str:
        with urllib.request.urlopen(f"http://{host}:{port}/", timeout=3) as resp:
            return resp.read().decode()

    assert str(wait_for("the NodePort on the node IP", lambda: fetch(node_ip), 60)).startswith(
        "hello from web-"
    )
    others = ["127.0.0.1", *_other_host_addresses(node_ip)]
    for address in others:
        with socket.socket() as probe:
            probe.settimeout(2)
            assert probe.connect_ex((address, port)) != 0, f"NodePort open on {address}"


def _other_host_addresses(node_ip: str) -> list[str]:
    out = subprocess.run(
        ["ip", "-4", "-o", "addr", "show"], capture_output=True, text=True
    ).stdout.split()
    addresses = [out[i + 1].split("/")[0] for i, word in enumerate(out) if word == "inet"]
    return [a for a in addresses if a not in (node_ip, "127.0.0.1") and not a.startswith("10.244.")]


@pytest.mark.parametrize(
    ("value", "problem"),
    [("", "is not an absolute path"), ("relative/state", "is not an absolute path"),
     ("/var/lib", "is a system directory"), ("/", "is a system directory")],
)  # fmt: skip
def test_bad_state_directories_are_refused_before_anything_is_touched(
    d2k, value: str, problem: str
) -> None:
    done = d2k("cluster", "down", "--purge", env={**os.environ, "D2K_CLUSTER_STATE_DIR": value})
    assert done.returncode == 1, done.stdout + done.stderr
    assert "D2K_CLUSTER_STATE_DIR=" in done.stderr and problem in done.stderr, done.stderr
    assert "Traceback" not in done.stderr
    assert Path("/var/lib").is_dir() and Path("/var/lib/docker2k8s", MARKER).exists()


def test_purge_deletes_only_directories_the_cluster_marked(tmp_path: Path) -> None:
    lay = Layout(state=tmp_path / "state", run=tmp_path / "run")
    for root in lay.roots:
        root.mkdir()
        (root / "precious").write_text("not the cluster's")
    with pytest.raises(D2KError, match=f"has no {MARKER} file"):
        cleanup.purge(lay)
    assert (lay.state / "precious").exists() and (lay.run / "precious").exists()
    with pytest.raises(D2KError, match="holds files that are not the cluster's"):
        host.claim(lay.state)

    fresh = Layout(state=tmp_path / "new-state", run=tmp_path / "new-run")
    for root in fresh.roots:
        host.claim(root)
    assert cleanup.purge(fresh) == list(fresh.roots)
    assert not fresh.state.exists() and not fresh.run.exists()


def test_purge_refuses_while_a_mount_stays_and_down_unmounts_first(tmp_path: Path) -> None:
    lay = Layout(state=tmp_path / "state", run=tmp_path / "run")
    for root in lay.roots:
        host.claim(root)
    volume = lay.state / "kubelet" / "pods" / "x" / "volumes" / "tmpfs"
    volume.mkdir(parents=True)
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", str(volume)], check=True)
    (volume / "data").write_text("inside a mount")
    try:
        with pytest.raises(D2KError, match="still has mounts"):
            cleanup.purge(lay)
        cleanup.unmount(lay)
        assert str(volume) not in Path("/proc/self/mounts").read_text()
        cleanup.purge(lay)
        assert not lay.state.exists()
    finally:
        subprocess.run(["umount", "-l", str(volume)], capture_output=True)


def _cgroup_v1_pids() -> Path:
    root = Path("/sys/fs/cgroup/pids")
    if not (root / "cgroup.procs").exists():
        pytest.skip("needs the cgroup v1 pids hierarchy (this host is cgroup v2)")
    return root


def test_down_kills_the_cluster_pods_and_spares_everyone_else(tmp_path: Path) -> None:
    """Two pod cgroups under kubepods; only one pod belongs to this cluster's kubelet."""
    lay = Layout(state=tmp_path / "state", run=tmp_path / "run")
    ours, theirs = str(uuid.uuid4()), str(uuid.uuid4())
    (lay.kubelet_root / "pods" / ours).mkdir(parents=True)
    besteffort = _cgroup_v1_pids() / "kubepods" / "besteffort"
    sleepers = {}
    try:
        for uid in (ours, theirs):
            cgroup = besteffort / f"pod{uid}" / "c1"
            cgroup.mkdir(parents=True)
            proc = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
            (cgroup / "cgroup.procs").write_text(str(proc.pid))
            sleepers[uid] = proc
        assert cleanup.kill_pods(lay) == 1
        assert sleepers[ours].wait(10) == -9
        assert sleepers[theirs].poll() is None, "a process of another kubelet's pod was killed"
        assert not (besteffort / f"pod{ours}").exists()
    finally:
        for proc in sleepers.values():
            proc.kill()
            proc.wait()
        for uid in (ours, theirs):
            for cgroup in (besteffort / f"pod{uid}" / "c1", besteffort / f"pod{uid}"):
                if cgroup.exists():
                    cgroup.rmdir()


@pytest.mark.cluster
def test_status_reports_free_disk(local: LocalProvider) -> None:
    (disk,) = [row for row in local.status() if row.name == "disk"]
    assert disk.healthy and "GiB free under" in disk.detail, disk
