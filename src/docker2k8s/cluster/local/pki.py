"""Certificates of the local cluster, generated with the openssl CLI.

One cluster CA signs every serving and client certificate; a second CA signs the front
proxy client the API server uses to reach aggregated APIs (metrics-server). Client
identities follow Kubernetes conventions: CN is the user, O the groups.
"""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

from .errors import ClusterError
from .layout import API_SERVICE_IP, CLUSTER_DOMAIN, NODE_NAME

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


def _openssl(*args: str) -> None:
    if not shutil.which("openssl"):
        raise ClusterError("openssl is missing; install it with `apt-get install openssl`.")
    done = subprocess.run(["openssl", *args], capture_output=True, text=True)
    if done.returncode != 0:
        raise ClusterError(f"openssl {' '.join(args[:2])} failed: {done.stderr.strip()}")


def _key(path: Path) -> None:
    curve = "ec_paramgen_curve:P-256"
    _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", curve, "-out", str(path))
    path.chmod(0o600)


def _ca(pki: Path, name: str, cn: str) -> None:
    if (pki / f"{name}.crt").exists():
        return
    _key(pki / f"{name}.key")
    _openssl(
        "req", "-x509", "-new", "-key", str(pki / f"{name}.key"), "-subj", f"/CN={cn}",
        "-days", DAYS, "-out", str(pki / f"{name}.crt"),
        "-addext", "basicConstraints=critical,CA:TRUE",
        "-addext", "keyUsage=critical,keyCertSign,cRLSign,digitalSignature",
    )  # fmt: skip


def _leaf(pki: Path, cert: Cert) -> None:
    crt = pki / f"{cert.name}.crt"
    if crt.exists():
        return
    key = pki / f"{cert.name}.key"
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
    with tempfile.TemporaryDirectory() as tmp:
        csr = Path(tmp) / "req.csr"
        extfile = Path(tmp) / "ext.cnf"
        extfile.write_text("[v3]\n" + "\n".join(ext) + "\n")
        _openssl("req", "-new", "-key", str(key), "-subj", subject, "-out", str(csr))
        _openssl(
            "x509", "-req", "-in", str(csr), "-CA", str(pki / f"{cert.ca}.crt"),
            "-CAkey", str(pki / f"{cert.ca}.key"), "-CAcreateserial", "-days", DAYS,
            "-extfile", str(extfile), "-extensions", "v3", "-out", str(crt),
        )  # fmt: skip


def certificates(node_ip: str) -> list[Cert]:
    api_dns = (
        "localhost",
        "kubernetes",
        "kubernetes.default",
        "kubernetes.default.svc",
        f"kubernetes.default.svc.{CLUSTER_DOMAIN}",
    )
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
    ]  # fmt: skip


def ensure_pki(pki: Path, node_ip: str) -> None:
    """Create whatever is missing; existing certificates are kept so kubeconfigs stay valid."""
    pki.mkdir(parents=True, exist_ok=True)
    pki.chmod(0o700)
    _ca(pki, "ca", "docker2k8s-ca")
    _ca(pki, "front-proxy-ca", "docker2k8s-front-proxy-ca")
    for cert in certificates(node_ip):
        _leaf(pki, cert)
    if not (pki / "sa.key").exists():
        _key(pki / "sa.key")
        _openssl("pkey", "-in", str(pki / "sa.key"), "-pubout", "-out", str(pki / "sa.pub"))


def serving_ips(pki: Path) -> str:
    """The API server certificate's SANs, to notice a changed node IP."""
    done = subprocess.run(
        ["openssl", "x509", "-in", str(pki / "apiserver.crt"), "-noout", "-ext", "subjectAltName"],
        capture_output=True,
        text=True,
    )
    return done.stdout
