"""The Debian mirrors this machine's apt already uses.

Images are built from the same mirror as the host: a classroom or company mirror behind a firewall
works without configuration, and no mirror address is written into the project.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from pathlib import Path

from docker2k8s.errors import D2KError


def apt_dir() -> Path:
    """The host's apt configuration; D2K_APT_DIR points elsewhere (a chroot, a test's view of a
    host without Debian's sources)."""
    return Path(os.environ.get("D2K_APT_DIR") or "/etc/apt")


@dataclass(frozen=True)
class Mirrors:
    archive: str  # serves SUITE and SUITE-updates
    security: str  # serves SUITE-security


def _entries(apt_dir: Path) -> list[tuple[str, str]]:
    """(uri, suite) pairs from one-line `.list` files and deb822 `.sources` files."""
    entries: list[tuple[str, str]] = []
    for path in [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*.list"))]:
        for line in path.read_text().splitlines() if path.exists() else []:
            words = re.sub(r"\[[^\]]*\]", "", line.split("#", 1)[0]).split()  # drop [options]
            if len(words) >= 3 and words[0] == "deb":
                entries.append((words[1], words[2]))
    for path in sorted((apt_dir / "sources.list.d").glob("*.sources")):
        for stanza in re.split(r"\n\s*\n", path.read_text()):
            fields = dict(re.findall(r"^(\w[\w-]*):\s*(.*)$", stanza, flags=re.MULTILINE))
            if "deb" in fields.get("Types", "").split() and fields.get("Enabled", "yes") != "no":
                entries += [(u, s) for u in fields.get("URIs", "").split()
                            for s in fields.get("Suites", "").split()]  # fmt: skip
    return entries


def host_mirrors(suite: str, folder: Path | None = None) -> Mirrors:
    """The mirrors serving `suite` in the apt configuration `folder` (default: apt_dir())."""
    folder = folder or apt_dir()
    entries = [(uri.rstrip("/"), s) for uri, s in _entries(folder)]
    archive = next((uri for uri, s in entries if s == suite), None)
    if archive is None:
        raise D2KError(
            f"No apt source for Debian {suite} in {folder}.",
            "name a mirror with D2K_DEBIAN_MIRROR=http://MIRROR/debian (or --mirror)",
        )
    security = next((uri for uri, s in entries if s == f"{suite}-security"), None)
    return Mirrors(archive, security or derived_security(archive))


def derived_security(archive: str) -> str:
    """Debian's convention: the security archive sits beside the main one as debian-security."""
    return re.sub(r"/debian$", "/debian-security", archive)
