"""What the workshop needs on a machine, how to tell whether it is there, and how to fix it.

One list serves two commands: `d2k doctor` reports it, `d2k setup` repairs what it can (installs
Debian packages, starts Docker Engine, builds Compose v2). Each prerequisite names the exact fix a
person would type.
"""

from __future__ import annotations

import importlib.metadata
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from docker2k8s import apt_sources, compose_plugin, processes, shell, versions
from docker2k8s.cluster import kubectl
from docker2k8s.cluster.gobuild import KOMPOSE, build, find_go, is_built, required_go
from docker2k8s.errors import D2KError
from docker2k8s.paths import cache_dir

# Who needs a prerequisite: everyone, the air-gapped `local` cluster, the `kind` cluster, or tests.
WORKSHOP, LOCAL, KIND, TESTS = "workshop", "local cluster", "kind cluster", "tests"
# The Debian release the offline images are made from; a host whose apt serves it is "Debian".
SUITE = "bookworm"
PULLED_BASE = f"debian:{SUITE}-slim"  # the official image laptops build the apps on instead


@dataclass(frozen=True)
class Finding:
    ok: bool
    detail: str


@dataclass(frozen=True)
class Prerequisite:
    name: str
    needed_for: str
    probe: Callable[[], Finding]
    fix: str
    apt: tuple[str, ...] = field(default=())
    # What `d2k setup` runs, after installing `apt`, when the check still fails; returns a report.
    repair: Callable[[], str] | None = None
    # The fix on a host whose apt does not serve Debian bookworm (Ubuntu, macOS, Windows), where
    # `fix` would not work; empty when `fix` works everywhere.
    elsewhere: str = ""

    def fix_here(self) -> str:
        return self.elsewhere if self.elsewhere and not debian_host() else self.fix

    def check(self) -> Finding:
        try:
            return self.probe()
        except Exception as error:  # a probe must never crash the report
            return Finding(False, f"check failed: {error}")


def debian_host() -> bool:
    """Whether this host's apt serves Debian bookworm (D2K_APT_DIR: another apt configuration)."""
    try:
        apt_sources.host_mirrors(SUITE)
    except D2KError:
        return False
    return True


def _command(name: str, *version_args: str) -> Callable[[], Finding]:
    def probe() -> Finding:
        path = shutil.which(name)
        if path is None:
            return Finding(False, f"`{name}` not on PATH")
        if not version_args:
            return Finding(True, path)
        out = subprocess.run(
            [path, *version_args], capture_output=True, text=True, timeout=20, check=False
        )
        first_line = (out.stdout or out.stderr).strip().splitlines()[:1]
        return Finding(out.returncode == 0, first_line[0] if first_line else path)

    return probe


def _any_file(*paths: str) -> Callable[[], Finding]:
    def probe() -> Finding:
        found = [p for p in paths if Path(p).exists()]
        return Finding(bool(found), found[0] if found else f"none of {', '.join(paths)}")

    return probe


def docker_engine() -> Finding:
    """Docker Engine answers on its socket (the CLI alone is not enough)."""
    import docker  # imported here: the SDK is slow to import and only this probe needs it

    try:
        client = docker.from_env(timeout=5)
        version = client.version()
    except Exception as error:
        where = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
        return Finding(False, f"no answer at {where} ({type(error).__name__})")
    return Finding(
        True, f"Engine {version.get('Version', '?')}, API {version.get('ApiVersion', '?')}"
    )


def _compose() -> Finding:
    version = compose_plugin.compose_version()
    if version is None:
        return Finding(False, "`docker compose` (v2) does not work")
    return Finding(True, f"docker compose {version}")


def _install_compose() -> str:
    return f"built Docker Compose {versions.COMPOSE}: {compose_plugin.install_compose_plugin()}"


def _kompose() -> Finding:
    if is_built(KOMPOSE):
        return Finding(True, f"kompose {versions.KOMPOSE} built")
    return Finding(False, "kompose is not built yet")


def _build_kompose() -> str:
    return f"built kompose {versions.KOMPOSE}: {build(KOMPOSE) / 'kompose'}"


def _python() -> Finding:
    ok = sys.version_info >= (3, 11)
    return Finding(ok, f"{sys.version.split()[0]} at {sys.executable}")


def _python_packages(extra: str | None) -> Callable[[], Finding]:
    def probe() -> Finding:
        wanted = _declared_requirements(extra)
        missing = [name for name in wanted if not _installed(name)]
        if missing:
            return Finding(False, "missing: " + ", ".join(missing))
        return Finding(True, f"{len(wanted)} packages present")

    return probe


def _declared_requirements(extra: str | None) -> list[str]:
    """Names of the package's own requirements (core, or one extra) from its metadata."""
    names = []
    for spec in importlib.metadata.requires("docker2k8s") or []:
        marker_extra = re.search(r"extra\s*==\s*['\"]([^'\"]+)['\"]", spec)
        if (marker_extra.group(1) if marker_extra else None) == extra:
            names.append(re.split(r"[\s<>=!~;\[]", spec, maxsplit=1)[0])
    return names


def _installed(name: str) -> bool:
    try:
        importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return False
    return True


def _go_toolchain() -> Finding:
    """The same lookup and minimum version the cluster build uses."""
    try:
        go = find_go()
    except D2KError as error:
        return Finding(False, error.problem)
    out = subprocess.run([go, "version"], capture_output=True, text=True, timeout=20, check=False)
    return Finding(True, out.stdout.strip())


def _free_disk(gib: int) -> Callable[[], Finding]:
    def probe() -> Finding:
        where = cache_dir()
        while not where.exists():
            where = where.parent
        free = shutil.disk_usage(where).free / 2**30
        return Finding(free >= gib, f"{free:.0f} GiB free at {where} (need {gib})")

    return probe


def _memory(gib: int) -> Callable[[], Finding]:
    def probe() -> Finding:
        total, where = _memory_total()
        return Finding(total >= gib, f"{total:.1f} GiB {where} (need {gib})")

    return probe


def _memory_total() -> tuple[float, str]:
    """GiB the cluster's containers can use, and whose: Docker Engine's (under Docker Desktop,
    its VM's, not the laptop's), else the host's."""
    import docker

    try:
        return docker.from_env(timeout=5).info()["MemTotal"] / 2**30, "for Docker Engine"
    except Exception:  # no Engine answering: the host's own memory
        meminfo = Path("/proc/meminfo").read_text()
        kib = int(re.search(r"MemTotal:\s+(\d+)", meminfo).group(1))  # type: ignore[union-attr]
        return kib / 2**20, "on this host"


def _base_builder() -> Finding:
    """debootstrap makes the offline base image; a pulled Debian image replaces it online."""
    # Debian keeps debootstrap in /usr/sbin, which a user's PATH lacks (root's, which builds the
    # image, has it).
    sbin = shutil.which("debootstrap", path="/usr/sbin:/sbin") if debian_host() else None
    if found := shutil.which("debootstrap") or sbin:
        return Finding(True, found)
    docker = shutil.which("docker")
    inspect = [docker or "docker", "image", "inspect", PULLED_BASE]
    if docker and subprocess.run(inspect, capture_output=True).returncode == 0:
        return Finding(True, f"{PULLED_BASE} pulled: d2k images build --base {PULLED_BASE}")
    return Finding(False, f"no debootstrap on PATH and no {PULLED_BASE} image")


def _root() -> Finding:
    return Finding(os.geteuid() == 0, "root" if os.geteuid() == 0 else f"uid {os.geteuid()}")


PREREQUISITES: list[Prerequisite] = [
    Prerequisite("Python 3.11+", WORKSHOP, _python, "install Python 3.11 or newer"),
    Prerequisite(
        "Python packages",
        WORKSHOP,
        _python_packages(None),
        "make venv   (or: pip install -e '.[dev]')",
    ),
    Prerequisite("Memory", WORKSHOP, _memory(4), "use a machine with at least 4 GiB of memory"),
    Prerequisite(
        "Disk space", WORKSHOP, _free_disk(20), "free disk space or set D2K_CACHE_DIR elsewhere"
    ),
    Prerequisite(
        "Docker CLI",
        WORKSHOP,
        _command("docker", "--version"),
        "apt-get install docker.io",
        apt=("docker.io",),
        elsewhere="install Docker Desktop (macOS, Windows) or Docker Engine (Linux)",
    ),
    Prerequisite(
        "Docker Engine running",
        WORKSHOP,
        docker_engine,
        "d2k setup   (or: systemctl start docker, or: dockerd &)",
        apt=("docker.io",),
        repair=lambda: f"Docker Engine started (log: {start_docker_engine()})",
        elsewhere="start Docker Desktop (macOS, Windows), or: sudo systemctl start docker",
    ),
    Prerequisite(
        "Debian base image (debootstrap, or a pulled one)",
        WORKSHOP,
        _base_builder,
        "apt-get install debootstrap",
        apt=("debootstrap",),
        elsewhere=f"docker pull {PULLED_BASE}; then: d2k images build --base {PULLED_BASE}",
    ),
    Prerequisite(
        "bubblewrap (d2k grade runs a learner's kernel in a sandbox)",
        WORKSHOP,
        _any_file("/usr/bin/bwrap"),
        "apt-get install bubblewrap",
        apt=("bubblewrap",),
        elsewhere="install bubblewrap with your Linux distribution's package manager",
    ),
    Prerequisite(
        "Docker Compose v2",
        WORKSHOP,
        _compose,
        "d2k setup   (builds it from source with Go; or install Docker's compose plugin)",
        repair=_install_compose,
        elsewhere="Docker Desktop brings it; with Docker Engine, install its compose plugin",
    ),
    Prerequisite(
        "kompose (lab 08 compares it with d2k convert)",
        WORKSHOP,
        _kompose,
        "d2k setup   (builds it from its Go module; `d2k kompose` also builds it on first use)",
        repair=_build_kompose,
    ),
    Prerequisite("root (to run a cluster)", LOCAL, _root, "run as root, e.g. sudo make workshop"),
    Prerequisite(
        "Go toolchain",
        LOCAL,
        _go_toolchain,
        f"install Go {'.'.join(map(str, required_go()))} or newer and put it on PATH",
    ),
    Prerequisite(
        "C compiler and libseccomp (runc is built with cgo)",
        LOCAL,
        _any_file("/usr/include/seccomp.h"),
        "apt-get install gcc libc6-dev libseccomp-dev",
        apt=("gcc", "libc6-dev", "libseccomp-dev", "pkg-config"),
    ),
    Prerequisite(
        "CNI plugins",
        LOCAL,
        _any_file("/usr/lib/cni/bridge", "/opt/cni/bin/bridge"),
        "apt-get install containernetworking-plugins",
        apt=("containernetworking-plugins",),
    ),
    Prerequisite(
        "iptables",
        LOCAL,
        _command("iptables", "--version"),
        "apt-get install iptables",
        apt=("iptables",),
    ),
    Prerequisite(
        "conntrack",
        LOCAL,
        _command("conntrack", "--version"),
        "apt-get install conntrack",
        apt=("conntrack",),
    ),
    Prerequisite(
        "openssl (cluster certificates)",
        LOCAL,
        _command("openssl", "version"),
        "apt-get install openssl",
        apt=("openssl",),
    ),
    Prerequisite(
        "kind", KIND, _command("kind", "version"), f"go install sigs.k8s.io/kind@{versions.KIND}"
    ),
    Prerequisite(
        "kubectl (the labs run it; kind brings none)",
        KIND,
        _command("kubectl", "version", "--client"),
        kubectl.INSTALL,
    ),
    Prerequisite(
        "Test packages",
        TESTS,
        _python_packages("dev"),
        "make venv   (or: pip install -e '.[dev]')",
    ),
    Prerequisite(
        "MariaDB server",
        TESTS,
        _any_file("/usr/sbin/mariadbd"),
        "apt-get install mariadb-server",
        apt=("mariadb-server",),
    ),
    Prerequisite(
        "Chromium",
        TESTS,
        _any_file("/usr/bin/chromium"),
        "apt-get install chromium",
        apt=("chromium",),
    ),
]


def check_all(needed_for: set[str] | None = None) -> list[tuple[Prerequisite, Finding]]:
    chosen = [p for p in PREREQUISITES if needed_for is None or p.needed_for in needed_for]
    return [(p, p.check()) for p in chosen]


# Debian's Docker. It conflicts with any other Docker Engine (Docker CE's docker-ce and
# containerd.io, Docker Desktop, a distribution's own), so setup installs it only where there is
# no Docker at all.
DEBIAN_DOCKER = frozenset({"docker.io", "containerd", "runc"})


def apt_packages(needed_for: set[str]) -> set[str]:
    """The Debian packages of the prerequisites for `needed_for`."""
    return {pkg for p in PREREQUISITES if p.needed_for in needed_for for pkg in p.apt}


def existing_docker() -> str | None:
    """What shows that a Docker is already here (an Engine answering, or a docker CLI, as Docker
    CE or Desktop leave when stopped), or None."""
    engine = docker_engine()
    if engine.ok:
        return f"a Docker Engine answers ({engine.detail})"
    cli = shutil.which("docker")
    return f"a docker CLI is installed at {cli}" if cli else None


def apt_plan(missing: list[str], docker: str | None) -> tuple[list[str], dict[str, str]]:
    """Which of the `missing` Debian packages `d2k setup` installs, and why it leaves the others
    out, given what `existing_docker()` found."""
    if docker is None:
        return missing, {}
    skipped = {pkg: f"Docker is already here: {docker}" for pkg in missing if pkg in DEBIAN_DOCKER}
    return [pkg for pkg in missing if pkg not in skipped], skipped


def repairs_due(needed_for: set[str]) -> list[Prerequisite]:
    """The prerequisites for `needed_for` that `d2k setup` repairs and that fail their check."""
    return [p for p in PREREQUISITES
            if p.needed_for in needed_for and p.repair and not p.check().ok]  # fmt: skip


def missing_apt_packages(packages: set[str]) -> list[str]:
    """Debian packages of `packages` that dpkg does not report as installed."""
    missing = []
    for package in sorted(packages):
        out = subprocess.run(
            ["dpkg-query", "-W", "-f=${Status}", package],
            capture_output=True,
            text=True,
            check=False,
        )
        if "install ok installed" not in out.stdout:
            missing.append(package)
    return missing


def install_apt_packages(packages: list[str]) -> None:
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    fix = "check that this machine reaches its Debian mirror (`apt-get update`), then run again"
    shell.run(["apt-get", "update", "-qq"], env=env, timeout=900, what="apt-get update", fix=fix)
    shell.run(
        ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *packages],
        env=env,
        timeout=1800,
        what=f"apt-get install {' '.join(packages)}",
        fix=fix,
    )


def start_docker_engine(timeout: float = 60) -> Path:
    """Start dockerd in the background and wait until it answers.

    Machines without systemd (containers, CI) have nobody else to start it.
    """
    if os.geteuid() != 0:
        raise D2KError("Docker Engine is not running.", "sudo systemctl start docker")
    processes.start("dockerd", ["dockerd"])
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if docker_engine().ok:
            return processes.log_file("dockerd")
        time.sleep(1)
    raise D2KError(
        f"dockerd did not answer within {timeout:.0f} s.",
        f"read {processes.log_file('dockerd')}",
    )
