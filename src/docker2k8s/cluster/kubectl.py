"""Running kubectl against the workshop cluster, for every provider the same way."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

from docker2k8s import shell, versions
from docker2k8s.errors import D2KError

from . import gobuild
from .names import CONTEXT_NAME

# kind and existing clusters bring no kubectl; the local provider builds one and links it.
INSTALL = (
    f"install kubectl {versions.KUBERNETES} and put it on PATH (the Kubernetes docs' "
    "'Install Tools' page has it for Linux, macOS and Windows), or run the local cluster "
    "(`sudo d2k cluster up --provider local`), which builds it"
)


class KubectlMissing(D2KError):
    """No kubectl where the labs and d2k look for it."""

    def __init__(self) -> None:
        super().__init__("kubectl is not installed (not on PATH).", INSTALL)


def on_path() -> str:
    """The kubectl the labs run (`!kubectl ...` finds it on PATH), or KubectlMissing."""
    found = shutil.which("kubectl")
    if found is None:
        raise KubectlMissing()
    return found


def binary() -> Path | str:
    """The kubectl on PATH, else the one the local cluster built."""
    built = gobuild.KUBERNETES.binary("kubectl")
    found = shutil.which("kubectl") or (built if built.exists() else None)
    if found is None:
        raise KubectlMissing()
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
