"""`up` stopped at any step (Ctrl-C, or killed outright) and run again ends with a working
cluster. Named to run late: it stops and starts the cluster the other tests use."""

from __future__ import annotations

import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from polling import wait_for

from docker2k8s import cluster as clusters
from docker2k8s.cluster import health
from docker2k8s.cluster.local import LocalProvider, pki

# A line `up` prints, and the signal it gets as soon as it printed it.
POINTS = [
    ("local cluster", signal.SIGKILL),  # configs written, supervisor just started
    ("kube-apiserver", signal.SIGINT),  # control plane starting, the sandbox image next
    ("kube-proxy", signal.SIGKILL),  # network rules and the pod network config next
    ("add-on", signal.SIGKILL),  # add-ons half applied
]


@pytest.mark.cluster
@pytest.mark.parametrize(("line", "signum"), POINTS, ids=[p[0] for p in POINTS])
def test_up_interrupted_then_run_again_works(
    local: LocalProvider, line: str, signum: signal.Signals
) -> None:
    clusters.down()
    up = subprocess.Popen(
        [shutil.which("d2k") or "d2k", "cluster", "up", "--provider", "local"],
        stderr=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        text=True,
    )
    assert up.stderr is not None
    seen = []
    for output in up.stderr:
        seen.append(output)
        if line in output:
            up.send_signal(signum)
            break
    up.wait(60)
    assert any(line in s for s in seen), "".join(seen)

    clusters.up("local")
    assert health.nodes_ready(local)[0]
    # kube-proxy programs the new DNS endpoint within a sync period or two of `up` returning.
    wait_for(
        "every part of the cluster healthy",
        lambda: [r for r in clusters.status(local) if not r.healthy] == [],
        60,
    )


def test_certificates_interrupted_at_any_point_end_up_whole(tmp_path: Path) -> None:
    """Kill the certificate maker again and again part-way; the next run completes a set in
    which every certificate matches its key and its CA."""
    script = (
        "from pathlib import Path; from docker2k8s.cluster.local import pki; "
        f"pki.ensure_pki(Path({str(tmp_path)!r}), '10.0.0.9')"
    )
    for delay in (0.05, 0.2, 0.4, 0.7, 1.0, 1.5):
        maker = subprocess.Popen([sys.executable, "-c", script])
        time.sleep(delay)
        maker.kill()
        maker.wait()
    pki.ensure_pki(tmp_path, "10.0.0.9")
    for cert in pki.certificates("10.0.0.9"):
        crt, key = tmp_path / f"{cert.name}.crt", tmp_path / f"{cert.name}.key"
        verified = subprocess.run(
            ["openssl", "verify", "-CAfile", str(tmp_path / f"{cert.ca}.crt"), str(crt)],
            capture_output=True,
            text=True,
        )
        assert verified.returncode == 0, (cert.name, verified.stdout + verified.stderr)
        assert _public(crt, "x509") == _public(key, "pkey"), f"{cert.name}: key and cert differ"
    assert _public(tmp_path / "sa.key", "pkey") == (tmp_path / "sa.pub").read_text()
    assert not list(tmp_path.glob(".new-*")), "scratch directories left behind"


def _public(path: Path, kind: str) -> str:
    args = ["openssl", kind, "-in", str(path), "-pubkey", "-noout"]
    if kind == "pkey":
        args = ["openssl", "pkey", "-in", str(path), "-pubout"]
    return subprocess.run(args, capture_output=True, text=True, check=True).stdout
