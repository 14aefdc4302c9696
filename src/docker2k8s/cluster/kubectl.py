"""Running kubectl against the workshop cluster, for every provider the same way."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from docker2k8s import shell, versions
from docker2k8s.errors import D2KError

from . import gobuild
from .names import CONTEXT_NAME


def binary() -> Path | str:
    """The kubectl on PATH, else the one the local cluster built."""
    built = gobuild.KUBERNETES.binary("kubectl")
    found = shutil.which("kubectl") or (built if built.exists() else None)
    if found is None:
        raise D2KError(
            "kubectl is not installed.",
            f"install kubectl {versions.KUBERNETES} (d2k doctor says how)",
        )
    return found


def run(
    binary: Path | str,
    kubeconfig: Path,
    *args: str,
    check: bool = True,
    stdin: str | None = None,
    timeout: float = 120,
) -> subprocess.CompletedProcess[str]:
    return shell.run(
        [binary, f"--kubeconfig={kubeconfig}", f"--context={CONTEXT_NAME}", *args],
        what=f"kubectl {' '.join(args[:3])}",
        fix="`d2k cluster status` shows which part of the cluster is not running",
        check=check,
        stdin=stdin,
        timeout=timeout,
    )
