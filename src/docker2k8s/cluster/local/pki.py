"""Certificates of the local cluster, generated with the openssl CLI.

Three CAs, as kubeadm makes them: the cluster CA signs the API server's, the kubelet's and every
client certificate; the front-proxy CA signs the client the API server uses to reach aggregated
APIs (metrics-server); the etcd CA signs etcd's own certificates and its only clients (the API
server, and d2k for `cluster repair`). A separate etcd CA matters: the controller-manager signs
CSRs with the cluster CA, so a certificate from it must never open etcd.

Every file is made in a private scratch directory (the process umask is 077) and renamed into
place, certificate after key, so an interrupted `up` leaves either a whole pair or none.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

from docker2k8s import shell

from ..names import API_SERVICE_IP, CLUSTER_DOMAIN
from .layout import NODE_NAME

DAYS = "3650"


@dataclass(frozen=True)
class Cert:
    name: str
    cn: str
    org: str | None = None
    server: bool = False
    client: bool = True
    dns: tuple[str, ...] = ()
    ips: tuple[str, ...] = ()
    ca: str = "ca"


CAS = (
    ("ca", "docker2k8s-ca"),
    ("front-proxy-ca", "docker2k8s-front-proxy-ca"),
    ("etcd-ca", "docker2k8s-etcd-ca"),
)


def certificates(node_ip: str) -> list[Cert]:
    api_dns = (
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        f"kubernetes.default.svc.{CLUSTER_DOMAIN}",
    )
    loopback = ("127.0.0.1",)
    return [
        Cert("apiserver", "kube-apiserver", server=True, client=False, dns=api_dns,
             ips=("127.0.0.1", API_SERVICE_IP, node_ip)),
        Cert("apiserver-kubelet-client", "kube-apiserver-kubelet-client", "system:masters"),
        Cert("admin", "kubernetes-admin", "system:masters"),
        Cert("controller-manager", "system:kube-controller-manager"),
        Cert("scheduler", "system:kube-scheduler"),
        Cert("kube-proxy", "system:kube-proxy"),
        Cert("kubelet-client", f"system:node:{NODE_NAME}", "system:nodes"),
        Cert("kubelet-serving", NODE_NAME, server=True, client=False,
             dns=(NODE_NAME, "localhost"), ips=("127.0.0.1", node_ip)),
        Cert("front-proxy-client", "front-proxy-client", ca="front-proxy-ca"),
        Cert("etcd-server", "docker2k8s-etcd", server=True, dns=("localhost",), ips=loopback,
             ca="etcd-ca"),
        Cert("etcd-peer", "docker2k8s-etcd", server=True, dns=("localhost",), ips=loopback,
             ca="etcd-ca"),
        Cert("apiserver-etcd-client", "kube-apiserver-etcd-client", ca="etcd-ca"),
        Cert("etcd-admin", "docker2k8s-etcd-admin", ca="etcd-ca"),
    ]  # fmt: skip


def _openssl(*args: str | Path) -> None:
    shell.run(["openssl", *args], what=f"openssl {args[0]}")


def _key(path: Path) -> None:
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path)


def _ca(work: Path, name: str, cn: str) -> None:
    _key(work / f"{name}.key")
    _openssl(
        "req", "-x509", "-new", "-key", work / f"{name}.key", "-subj", f"/CN={cn}",
        "-days", DAYS, "-out", work / f"{name}.crt",
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    )  # fmt: skip


def _leaf(work: Path, pki: Path, cert: Cert) -> None:
    key = work / f"{cert.name}.key"
    _key(key)
    subject = f"/CN={cert.cn}" + (f"/O={cert.org}" if cert.org else "")
    usages = [u for u, on in (("serverAuth", cert.server), ("clientAuth", cert.client)) if on]
    ext = [
        "basicConstraints=critical,CA:FALSE",
        "keyUsage=critical,digitalSignature,keyEncipherment",
        f"extendedKeyUsage={','.join(usages)}",
    ]
    sans = [f"DNS:{d}" for d in cert.dns] + [f"IP:{i}" for i in cert.ips]
    if sans:
        ext.append(f"subjectAltName={','.join(sans)}")
    (work / "ext.cnf").write_text("[v3]\n" + "\n".join(ext) + "\n")
    _openssl("req", "-new", "-key", key, "-subj", subject, "-out", work / "req.csr")
    _openssl(
        "x509", "-req", "-in", work / "req.csr", "-CA", pki / f"{cert.ca}.crt",
        "-CAkey", pki / f"{cert.ca}.key", "-CAcreateserial", "-days", DAYS,
        "-extfile", work / "ext.cnf", "-extensions", "v3", "-out", work / f"{cert.name}.crt",
    )  # fmt: skip


def _complete(pki: Path, name: str, first: str = "key", second: str = "crt") -> bool:
    return (pki / f"{name}.{first}").exists() and (pki / f"{name}.{second}").exists()


def _install(work: Path, pki: Path, *names: str) -> None:
    """Move finished files from the scratch directory into place, in the order given."""
    for name in names:
        os.replace(work / name, pki / name)


def ensure_pki(pki: Path, node_ip: str) -> list[str]:
    """Create whatever is missing or half-made; keep the rest so kubeconfigs stay valid.
    Returns the names of the pairs made."""
    pki.mkdir(mode=0o700, parents=True, exist_ok=True)
    pki.chmod(0o700)
    for stale in pki.glob(".new-*"):  # left by an interrupted run: never installed
        shutil.rmtree(stale)
    made = []
    leaves = certificates(node_ip)
    with tempfile.TemporaryDirectory(dir=pki, prefix=".new-") as tmp:
        work = Path(tmp)
        for name, cn in CAS:
            if _complete(pki, name):
                continue
            _ca(work, name, cn)
            for leaf in leaves:  # signed by the CA that is gone: no longer valid
                if leaf.ca == name:
                    for ext in ("crt", "key"):
                        (pki / f"{leaf.name}.{ext}").unlink(missing_ok=True)
            _install(work, pki, f"{name}.key", f"{name}.crt")
            made.append(name)
        for leaf in leaves:
            if not _complete(pki, leaf.name):
                _leaf(work, pki, leaf)
                _install(work, pki, f"{leaf.name}.key", f"{leaf.name}.crt")
                made.append(leaf.name)
        if not _complete(pki, "sa", "key", "pub"):
            _key(work / "sa.key")
            _openssl("pkey", "-in", work / "sa.key", "-pubout", "-out", work / "sa.pub")
            _install(work, pki, "sa.key", "sa.pub")
            made.append("sa")
    for serial in pki.glob("*.srl"):
        serial.unlink()
    return made


def reissue_if_moved(pki: Path, node_ip: str) -> bool:
    """Delete the certificates that name the node's address when it changed (a laptop on
    another network); ensure_pki then issues them again. True when it did."""
    if not (pki / "apiserver.crt").exists() or not shutil.which("openssl"):
        return False
    sans = shell.run(
        ["openssl", "x509", "-in", pki / "apiserver.crt", "-noout", "-ext", "subjectAltName"],
        what="reading the API server certificate",
    ).stdout
    if f"IP Address:{node_ip}" in sans:
        return False
    for name in ("apiserver", "kubelet-serving"):
        for ext in ("crt", "key"):
            (pki / f"{name}.{ext}").unlink(missing_ok=True)
    return True
