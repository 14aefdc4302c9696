"""Running kubectl against the workshop cluster, for every provider the same way."""

from __future__ import annotations

import subprocess
from pathlib import Path

from docker2k8s import shell

from .names import CONTEXT_NAME


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
