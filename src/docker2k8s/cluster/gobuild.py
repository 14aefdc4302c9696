"""Build the cluster's Go programs from their pinned modules into a cache outside the repo."""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from .errors import ClusterError
from .layout import (
    COMPOSE_VERSION,
    COREDNS_VERSION,
    ETCD_VERSION,
    KUBERNETES_VERSION,
    METRICS_SERVER_VERSION,
    Layout,
    repo_cluster_dir,
)


def _version_ldflags(version: str) -> list[str]:
    """-X flags that make `kubectl version` and /version report the pinned release."""
    major, minor = version.lstrip("v").split(".")[:2]
    flags = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    return flags


@dataclass(frozen=True)
class GoProgram:
    """One family of binaries built together from one Go module under cluster/."""

    name: str
    version: str
    module: str  # directory under cluster/
    packages: tuple[str, ...]
    binaries: tuple[str, ...]
    ldflags: tuple[str, ...] = field(default=())

    def module_dir(self) -> Path:
        return repo_cluster_dir() / self.module

    def fingerprint(self) -> str:
        """Changes when the pinned versions change, so a stale cache is rebuilt."""
        digest = hashlib.sha256()
        for name in ("go.mod", "go.sum"):
            path = self.module_dir() / name
            if path.exists():
                digest.update(path.read_bytes())
        for pkg in self.packages:
            digest.update(pkg.encode())
        digest.update(" ".join(self.ldflags).encode())
        return digest.hexdigest()[:12]

    def out_dir(self, layout: Layout) -> Path:
        return layout.bin / f"{self.name}-{self.version}-{self.fingerprint()}"


_KUBE_COMMANDS = (
    "kube-apiserver",
    "kube-controller-manager",
    "kube-scheduler",
    "kubelet",
    "kube-proxy",
    "kubectl",
)
KUBERNETES = GoProgram(
    name="kubernetes",
    version=KUBERNETES_VERSION,
    module="go/kubernetes",
    packages=tuple(f"k8s.io/kubernetes/cmd/{c}" for c in _KUBE_COMMANDS),
    binaries=_KUBE_COMMANDS,
    ldflags=tuple(_version_ldflags(KUBERNETES_VERSION)),
)
ETCD = GoProgram(
    name="etcd",
    version=ETCD_VERSION,
    module="go/etcd",
    packages=("go.etcd.io/etcd/server/v3",),
    binaries=("etcd",),
)
COREDNS = GoProgram(
    name="coredns",
    version=COREDNS_VERSION,
    module="go/coredns",
    packages=("github.com/coredns/coredns",),
    binaries=("coredns",),
)
METRICS_SERVER = GoProgram(
    name="metrics-server",
    version=METRICS_SERVER_VERSION,
    module="go/metrics-server",
    packages=("sigs.k8s.io/metrics-server/cmd/metrics-server",),
    binaries=("metrics-server",),
)
PAUSE = GoProgram(
    name="pause", version="3.10", module="images/pause", packages=(".",), binaries=("pause",)
)
PROVISIONER = GoProgram(
    name="hostpath-provisioner",
    version="0.1.0",
    module="addons/storage/provisioner",
    packages=(".",),
    binaries=("hostpath-provisioner",),
)

ALL_PROGRAMS = (KUBERNETES, ETCD, PAUSE, COREDNS, METRICS_SERVER, PROVISIONER)

# Not part of the cluster: `d2k setup` builds it where `docker compose` is missing
# (compose_plugin.py).
COMPOSE = GoProgram(
    name="compose",
    version=COMPOSE_VERSION,
    module="go/compose",
    packages=("github.com/docker/compose/v2/cmd",),
    binaries=("docker-compose",),
    ldflags=(f"-X github.com/docker/compose/v2/internal.Version={COMPOSE_VERSION}",),
)


def _version(text: str) -> tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(g or 0) for g in match.groups()) if match else (0, 0, 0)


def required_go() -> tuple[int, ...]:
    """The newest `go` line among the modules d2k builds: with GOTOOLCHAIN=local, an older Go
    refuses to build that module (etcd's, for its dependencies, asks for 1.26)."""
    lines = []
    for program in (*ALL_PROGRAMS, COMPOSE):
        go_mod = (program.module_dir() / "go.mod").read_text()
        lines += re.findall(r"^go (\S+)$", go_mod, re.M)
    return max(map(_version, lines))


def find_go() -> Path:
    """The Go toolchain, or a ClusterError saying how to install one."""
    wanted = ".".join(map(str, required_go()))
    found = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    if not found:
        raise ClusterError(
            "No Go toolchain found: the local cluster builds Kubernetes from source. "
            f"Install Go {wanted} or newer (for example the official tarball into /usr/local/go) "
            "and put it on PATH."
        )
    out = subprocess.run([found, "env", "GOVERSION"], capture_output=True, text=True).stdout
    if _version(out) < required_go():
        raise ClusterError(
            f"{found} is {out.strip() or 'an unknown version'}; building Kubernetes "
            f"{KUBERNETES_VERSION} and its add-ons needs Go {wanted} or newer. Install a newer Go."
        )
    return Path(found)


def go_env(layout: Layout) -> dict[str, str]:
    env = dict(os.environ)
    env.update(
        GOMODCACHE=str(layout.cache / "gomodcache"),
        GOCACHE=str(layout.cache / "gocache"),
        CGO_ENABLED="0",
        GOTOOLCHAIN="local",
        GOFLAGS="-buildvcs=false -mod=readonly",
    )
    return env


def is_built(program: GoProgram, layout: Layout) -> bool:
    out = program.out_dir(layout)
    return (out / ".complete").exists() and all((out / b).exists() for b in program.binaries)


def build(program: GoProgram, layout: Layout, console: Console | None = None) -> Path:
    """Build `program` unless its pinned binaries are already cached; return their directory."""
    out = program.out_dir(layout)
    if is_built(program, layout):
        return out
    console = console or Console(stderr=True)
    go = find_go()
    free = shutil.disk_usage(layout.cache if layout.cache.exists() else Path.home()).free
    if free < 12 * 2**30:
        raise ClusterError(
            f"Only {free / 2**30:.1f} GiB free for the build cache {layout.cache}; building "
            "the cluster needs about 12 GiB. Free some disk space or set D2K_CACHE_DIR to a "
            "larger disk."
        )
    env = go_env(layout)
    for d in (layout.build_logs, out.parent):
        d.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    shutil.rmtree(tmp, ignore_errors=True)
    tmp.mkdir(parents=True)
    cwd = program.module_dir()
    with console.status(f"{program.name}: downloading Go modules (first build only)"):
        listed = subprocess.run(
            [str(go), "list", "-deps", *program.packages],
            cwd=cwd,
            env=env,
            capture_output=True,
            text=True,
        )
    if listed.returncode != 0:
        raise ClusterError(
            f"`go list` failed for {program.name} in {cwd}:\n{listed.stderr.strip()[-2000:]}\n"
            "Check that the Go module proxy is reachable (GOPROXY) and the module pins are valid."
        )
    total = len(listed.stdout.split())
    log_path = layout.build_logs / f"build-{program.name}.log"
    ldflags = " ".join(("-s", "-w", *program.ldflags))
    cmd = [str(go), "build", "-v", "-trimpath", "-ldflags", ldflags]
    # One package: name the binary explicitly (go would call etcd's "server", after server/v3).
    target = tmp / program.binaries[0] if len(program.packages) == 1 else Path(f"{tmp}/")
    cmd += ["-o", str(target) + ("/" if len(program.packages) > 1 else ""), *program.packages]
    start = time.monotonic()
    with (
        open(log_path, "w") as log,
        Progress(
            TextColumn(f"building {program.name} {program.version}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
            console=console,
            transient=False,
        ) as progress,
    ):
        task = progress.add_task("go", total=total)
        proc = subprocess.Popen(
            cmd, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(line)
            # `go build -v` prints one package path per line as it is compiled.
            if line.strip() and " " not in line.strip():
                progress.advance(task)
        rc = proc.wait()
        progress.update(task, completed=total)
    if rc != 0:
        tail = log_path.read_text()[-3000:]
        raise ClusterError(f"Building {program.name} failed (log: {log_path}):\n{tail}")
    (tmp / ".complete").write_text(f"{program.version} {time.monotonic() - start:.0f}s\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out


def build_all(layout: Layout, console: Console | None = None) -> dict[str, Path]:
    """Build every program the local cluster needs; map binary name to its path."""
    paths: dict[str, Path] = {}
    for program in ALL_PROGRAMS:
        out = build(program, layout, console)
        for b in program.binaries:
            paths[b] = out / b
    return paths
