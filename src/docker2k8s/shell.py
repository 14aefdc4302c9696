"""Running host commands with the failures a user can meet turned into D2KError.

A missing program, a timeout and a non-zero exit each become an error that names the command,
shows the end of what it printed and says what to do next, instead of a traceback.
"""

from __future__ import annotations

import shutil
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

from docker2k8s.errors import D2KError

# The Debian package that provides each host program d2k runs, for the fix in the message.
PACKAGES = {
    "docker": "docker.io",
    "iptables": "iptables",
    "iptables-save": "iptables",
    "conntrack": "conntrack",
    "ip": "iproute2",
    "openssl": "openssl",
    "mount": "mount",
    "umount": "mount",
    "debootstrap": "debootstrap",
    "tar": "tar",
}


def require(program: str) -> str:
    """The path of `program`, or a D2KError naming the package to install."""
    found = shutil.which(program)
    if found is None:
        package = PACKAGES.get(program)
        fix = f"apt-get install {package}" if package else f"install {program} and put it on PATH"
        raise D2KError(f"`{program}` is not installed (not on PATH).", fix)
    return found


def run(
    argv: Sequence[str | Path],
    *,
    what: str | None = None,
    fix: str = "",
    timeout: float = 300,
    check: bool = True,
    stdin: str | None = None,
    env: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> subprocess.CompletedProcess[str]:
    """Run `argv` and capture its output; with `check`, a non-zero exit raises D2KError."""
    args = [str(a) for a in argv]
    what = what or f"`{' '.join(args[:3])}`"
    if "/" not in args[0]:
        args[0] = require(args[0])
    try:
        done = subprocess.run(
            args,
            capture_output=True,
            text=True,
            input=stdin,
            timeout=timeout,
            env=None if env is None else dict(env),
            cwd=cwd,
            check=False,
        )
    except subprocess.TimeoutExpired:
        raise D2KError(f"{what} did not finish within {timeout:.0f} s.", fix) from None
    except FileNotFoundError:
        raise D2KError(f"{what}: {args[0]} does not exist.", fix) from None
    if check and done.returncode != 0:
        output = (done.stderr.strip() or done.stdout.strip())[-2000:]
        raise D2KError(f"{what} failed (exit {done.returncode}): {output or 'no output'}", fix)
    return done
