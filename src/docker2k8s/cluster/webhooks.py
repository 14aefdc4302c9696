"""Serving certificates for the add-ons' webhooks (and metrics), signed by the cluster's own CA.

An admission webhook is an HTTPS server the API server calls before it stores an object (Kueue
checks every Job and queue object this way). The API server trusts it through the `caBundle` of
the webhook configuration. Add-ons usually make a private CA for this and patch it in at start;
d2k instead issues the webhook's certificate from the cluster CA (Provider.cluster_ca), so the
cluster has one root of trust and the webhooks answer from their first second.
"""

from __future__ import annotations

import base64
import json
import tempfile
from dataclasses import dataclass
from pathlib import Path

from docker2k8s import shell

from . import secrets
from .names import CLUSTER_DOMAIN
from .provider import Provider

DAYS = "3650"


@dataclass(frozen=True)
class ServingCert:
    """A certificate an add-on's HTTPS server (webhook, metrics) reads, and its Service."""

    secret: str  # kubernetes.io/tls Secret in the add-on's namespace
    service: str  # the Service its callers name


def _openssl(*args: str | Path) -> None:
    shell.run(["openssl", *args], what=f"openssl {args[0]}")


def make_ca(name: str) -> tuple[str, str]:
    """A new CA for webhook certificates, where d2k holds no cluster CA; (certificate, key)."""
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        _openssl("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-nodes", "-keyout", work / "ca.key", "-out", work / "ca.crt", "-days", DAYS,
                 "-subj", f"/CN={name}", "-addext", "basicConstraints=critical,CA:TRUE",
                 "-addext", "keyUsage=critical,keyCertSign,cRLSign")  # fmt: skip
        return (work / "ca.crt").read_text(), (work / "ca.key").read_text()


def issue(ca_cert: str, ca_key: str, dns: list[str]) -> tuple[str, str]:
    """A server certificate for `dns`, signed by the CA; returns (certificate, key) in PEM."""
    with tempfile.TemporaryDirectory() as tmp:  # 0700: the CA key passes through it
        work = Path(tmp)
        (work / "ca.crt").write_text(ca_cert)
        (work / "ca.key").write_text(ca_key)
        (work / "ext.cnf").write_text(
            "[v3]\nbasicConstraints=critical,CA:FALSE\n"
            "keyUsage=critical,digitalSignature,keyEncipherment\n"
            "extendedKeyUsage=serverAuth\n"
            f"subjectAltName={','.join(f'DNS:{d}' for d in dns)}\n"
        )
        _openssl("genpkey", "-algorithm", "EC", "-pkeyopt", "ec_paramgen_curve:P-256",
                 "-out", work / "tls.key")  # fmt: skip
        _openssl("req", "-new", "-key", work / "tls.key", "-subj", f"/CN={dns[0]}",
                 "-out", work / "req.csr")  # fmt: skip
        _openssl(
            "x509", "-req", "-in", work / "req.csr", "-CA", work / "ca.crt",
            "-CAkey", work / "ca.key", "-CAcreateserial", "-days", DAYS,
            "-extfile", work / "ext.cnf", "-extensions", "v3", "-out", work / "tls.crt",
        )  # fmt: skip
        return (work / "tls.crt").read_text(), (work / "tls.key").read_text()


def _b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


def ensure_certificate(provider: Provider, namespace: str, cert: ServingCert) -> bool:
    """Create the certificate's Secret unless it holds a certificate from the current cluster CA;
    True when it issued one."""
    ca_cert, ca_key = provider.cluster_ca()
    found = provider.kubectl(
        "get", "secret", cert.secret, "-n", namespace, "-o", "jsonpath={.data.ca\\.crt}",
        check=False,
    )  # fmt: skip
    if found.returncode == 0 and found.stdout == _b64(ca_cert):
        return False
    service = f"{cert.service}.{namespace}.svc"
    crt, key = issue(ca_cert, ca_key, [service, f"{service}.{CLUSTER_DOMAIN}"])
    data = {"tls.crt": crt, "tls.key": key, "ca.crt": ca_cert}
    secrets.apply_secret(provider, namespace, cert.secret, data, kind="kubernetes.io/tls")
    return True


def inject_ca(provider: Provider, selector: str) -> int:
    """Set the cluster CA as `caBundle` in every webhook of the configurations matching
    `selector`, and of the APIServices matching it (an aggregated API server, like a webhook, is
    an HTTPS server the API server calls); return how many changed."""
    bundle = _b64(provider.cluster_ca()[0])
    changed = 0
    for kind in ("mutatingwebhookconfigurations", "validatingwebhookconfigurations"):
        listed = json.loads(provider.kubectl("get", kind, "-l", selector, "-o", "json").stdout)
        for config in listed["items"]:
            patch = [
                {"op": "add", "path": f"/webhooks/{i}/clientConfig/caBundle", "value": bundle}
                for i, hook in enumerate(config.get("webhooks") or [])
                if hook["clientConfig"].get("caBundle") != bundle
            ]
            if patch:
                name = config["metadata"]["name"]
                provider.kubectl("patch", kind, name, "--type=json", "-p", json.dumps(patch))
                changed += len(patch)
    listed = json.loads(provider.kubectl("get", "apiservices", "-l", selector, "-o", "json").stdout)
    for service in listed["items"]:
        # One that skips verification (Kueue's visibility API) stays as its add-on wrote it.
        spec = service["spec"]
        if not spec.get("insecureSkipTLSVerify") and spec.get("caBundle") != bundle:
            patch = {"spec": {"caBundle": bundle}}
            name = service["metadata"]["name"]
            provider.kubectl("patch", "apiservice", name, "--type=merge", "-p", json.dumps(patch))
            changed += 1
    return changed
