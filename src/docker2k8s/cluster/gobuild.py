"""Build the cluster's Go programs from their pinned modules into a cache outside the repo.

Each program is a module under cluster/ whose go.mod pins one release (versions.toml says which;
tests/foundation/test_versions.py checks that they agree). Binaries land in
~/.cache/docker2k8s/bin/<name>-<version>-<fingerprint>/ with a `.complete` stamp, so a second
build does no Go work at all.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from docker2k8s import versions
from docker2k8s.errors import D2KError
from docker2k8s.paths import cache_dir, cluster_dir


def _kubernetes_ldflags(version: str) -> tuple[str, ...]:
    """-X flags that make `kubectl version` and /version report the pinned release."""
    major, minor = version.lstrip("v").split(".")[:2]
    flags: list[str] = []
    for pkg in ("k8s.io/component-base/version", "k8s.io/client-go/pkg/version"):
        flags += [
            f"-X {pkg}.gitVersion={version}",
            f"-X {pkg}.gitMajor={major}",
            f"-X {pkg}.gitMinor={minor}",
            f"-X {pkg}.gitTreeState=clean",
        ]
    return tuple(flags)


@dataclass(frozen=True)
class Fork:
    """A dependency built from upstream's source at the version the module selects, changed by
    files of ours: for a program whose own requirements the module proxy partly refuses.

    The files in _forks/<name>/ of the program's module are added to (or replace) upstream's, and
    the directories in `drop` are left out. Go ignores directories starting with "_", so _forks/
    is not a package of the program's module.
    """

    module: str
    name: str  # directory under the program module's _forks/
    drop: tuple[str, ...] = ()


@dataclass(frozen=True)
class GoProgram:
    """One family of binaries built together from one Go module under cluster/."""

    name: str
    version: str
    module: str  # directory under cluster/
    packages: tuple[str, ...]
    binaries: tuple[str, ...]
    ldflags: tuple[str, ...] = field(default=())
    tags: tuple[str, ...] = field(default=())
    cgo: bool = False  # runc's nsenter is C; everything else is static Go
    forks: tuple[Fork, ...] = ()  # joined in through a go.work file (prepare_forks)

    def module_dir(self) -> Path:
        return cluster_dir() / self.module

    def sources(self) -> list[Path]:
        """Go files of our own in the module directory (pause, the DRA driver, kwok's main)."""
        return sorted(self.module_dir().rglob("*.go"))

    def fingerprint(self) -> str:
        """Changes when the pinned versions, our sources or the build flags change, so a stale
        cache is rebuilt."""
        digest = hashlib.sha256()
        for path in [self.module_dir() / "go.mod", self.module_dir() / "go.sum", *self.sources()]:
            if path.exists():
                digest.update(path.read_bytes())
        for pkg in self.packages:
            digest.update(pkg.encode())
        digest.update(" ".join(self.ldflags).encode())
        if self.tags or self.cgo:
            digest.update(f"tags={','.join(self.tags)} cgo={self.cgo}".encode())
        return digest.hexdigest()[:12]

    def out_dir(self) -> Path:
        return cache_dir() / "bin" / f"{self.name}-{self.version}-{self.fingerprint()}"

    def binary(self, name: str) -> Path:
        return self.out_dir() / name


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
    version=versions.KUBERNETES,
    module="go/kubernetes",
    packages=tuple(f"k8s.io/kubernetes/cmd/{c}" for c in _KUBE_COMMANDS),
    binaries=_KUBE_COMMANDS,
    ldflags=_kubernetes_ldflags(versions.KUBERNETES),
)
ETCD = GoProgram(
    name="etcd",
    version=versions.ETCD,
    module="go/etcd",
    packages=("go.etcd.io/etcd/server/v3",),
    binaries=("etcd",),
)
_CONTAINERD_COMMANDS = ("containerd", "containerd-shim-runc-v2", "ctr")
CONTAINERD = GoProgram(
    name="containerd",
    version=versions.CONTAINERD,
    module="go/containerd",
    packages=tuple(f"github.com/containerd/containerd/v2/cmd/{c}" for c in _CONTAINERD_COMMANDS),
    binaries=_CONTAINERD_COMMANDS,
    ldflags=(
        f"-X github.com/containerd/containerd/v2/version.Version={versions.CONTAINERD}",
        "-X github.com/containerd/containerd/v2/version.Revision=docker2k8s",
    ),
)
RUNC = GoProgram(
    name="runc",
    version=versions.RUNC,
    module="go/runc",
    packages=("github.com/opencontainers/runc",),
    binaries=("runc",),
    ldflags=(f"-X main.version={versions.RUNC.lstrip('v')}",),
    tags=("seccomp",),  # RuntimeDefault seccomp profiles, through Debian's libseccomp
    cgo=True,
)
COREDNS = GoProgram(
    name="coredns",
    version=versions.COREDNS,
    module="go/coredns",
    packages=("github.com/coredns/coredns",),
    binaries=("coredns",),
)
METRICS_SERVER = GoProgram(
    name="metrics-server",
    version=versions.METRICS_SERVER,
    module="go/metrics-server",
    packages=("sigs.k8s.io/metrics-server/cmd/metrics-server",),
    binaries=("metrics-server",),
)
LOCAL_PATH_PROVISIONER = GoProgram(
    name="local-path-provisioner",
    version=versions.LOCAL_PATH_PROVISIONER,
    module="go/local-path-provisioner",
    packages=("github.com/rancher/local-path-provisioner",),
    binaries=("local-path-provisioner",),
)
# KWOK's controller with its standard stages built in (our main.go over the kwok module).
KWOK = GoProgram(
    name="kwok",
    version=versions.KWOK,
    module="go/kwok",
    packages=(".",),
    binaries=("kwok",),
)
# CNCF Distribution's registry with the filesystem driver and htpasswd (our main.go over it).
REGISTRY = GoProgram(
    name="registry",
    version=versions.REGISTRY,
    module="go/registry",
    packages=(".",),
    binaries=("registry",),
    ldflags=(f"-X github.com/distribution/distribution/v3/version.version={versions.REGISTRY}",),
)
# Kueue's controller manager; its manifests come from the same module (addons.Addon.upstream).
KUEUE = GoProgram(
    name="kueue",
    version=versions.KUEUE,
    module="go/kueue",
    packages=("sigs.k8s.io/kueue/cmd/kueue",),
    binaries=("kueue",),
)
# Our DRA driver for the simulated GPUs, on Kubernetes' helper library of the pinned release.
GPU_DRA_DRIVER = GoProgram(
    name="gpu-dra-driver",
    version=versions.APPS,
    module="images/gpu-dra-driver",
    packages=(".",),
    binaries=("gpu-dra-driver",),
)
PAUSE = GoProgram(
    name="pause",
    version=versions.PAUSE,
    module="images/pause",
    packages=(".",),
    binaries=("pause",),
)
# Not part of the cluster: `d2k setup` builds it where `docker compose` is missing
# (compose_plugin.py).
COMPOSE = GoProgram(
    name="compose",
    version=versions.COMPOSE,
    module="go/compose",
    packages=("github.com/docker/compose/v2/cmd",),
    binaries=("docker-compose",),
    ldflags=(f"-X github.com/docker/compose/v2/internal.Version={versions.COMPOSE}",),
)

# Traefik, the Gateway API and Ingress controller (cluster/go/traefik/go.mod says why the forks).
TRAEFIK = GoProgram(
    name="traefik",
    version=versions.TRAEFIK,
    module="go/traefik",
    packages=("github.com/traefik/traefik/v3/cmd/traefik",),
    binaries=("traefik",),
    ldflags=(f"-X github.com/traefik/traefik/v3/pkg/version.Version={versions.TRAEFIK}",),
    forks=(
        Fork("github.com/go-acme/lego/v5", "lego", drop=("providers/dns",)),
        Fork("github.com/abbot/go-http-auth", "go-http-auth"),
    ),
)


def prometheus_release(module_version: str = versions.PROMETHEUS) -> str:
    """Prometheus numbers its Go module v0.3XX.Y for release 3.XX.Y: `3.16.0` for v0.316.0."""
    _zero, minor, patch = module_version.lstrip("v").split(".")
    return f"{int(minor) // 100}.{int(minor) % 100}.{patch}"


# Prometheus, which scrapes the Pods that ask for it (lab 11's queue autoscaling), with
# Kubernetes service discovery only: the tags its plugins/ folder defines for that.
PROMETHEUS = GoProgram(
    name="prometheus",
    version=versions.PROMETHEUS,
    module="go/prometheus",
    packages=("github.com/prometheus/prometheus/cmd/prometheus",),
    binaries=("prometheus",),
    ldflags=(
        f"-X github.com/prometheus/common/version.Version={prometheus_release()}",
        "-X github.com/prometheus/common/version.Branch=docker2k8s",
    ),
    tags=("remove_all_sd", "enable_kubernetes_sd"),
)
# prometheus-adapter: Prometheus queries served as the custom metrics API to HPAs.
PROMETHEUS_ADAPTER = GoProgram(
    name="prometheus-adapter",
    version=versions.PROMETHEUS_ADAPTER,
    module="go/prometheus-adapter",
    packages=("sigs.k8s.io/prometheus-adapter/cmd/adapter",),
    binaries=("adapter",),
)

# The kind CLI, for a laptop without one (kind.py) and for checking cluster/kind.yaml with kind's
# own loader (tests).
KIND = GoProgram(
    name="kind",
    version=versions.KIND,
    module="go/kind",
    packages=("sigs.k8s.io/kind",),
    binaries=("kind",),
)

# kompose, the converter lab 08 compares `d2k convert compose` with (`d2k kompose ...`).
KOMPOSE = GoProgram(
    name="kompose",
    version=versions.KOMPOSE,
    module="go/kompose",
    packages=("github.com/kubernetes/kompose",),
    binaries=("kompose",),
)

# What the local cluster runs, in build order (the longest first, to fail early).
CLUSTER_PROGRAMS = (
    KUBERNETES,
    ETCD,
    CONTAINERD,
    RUNC,
    PAUSE,
    COREDNS,
    METRICS_SERVER,
    LOCAL_PATH_PROVISIONER,
    KWOK,
    GPU_DRA_DRIVER,
    REGISTRY,
    KUEUE,
    TRAEFIK,
    PROMETHEUS,
    PROMETHEUS_ADAPTER,
)
ALL_PROGRAMS = (*CLUSTER_PROGRAMS, COMPOSE, KIND, KOMPOSE)


def _version(text: str) -> tuple[int, ...]:
    match = re.search(r"(\d+)\.(\d+)(?:\.(\d+))?", text)
    return tuple(int(g or 0) for g in match.groups()) if match else (0, 0, 0)


def required_go() -> tuple[int, ...]:
    """The newest `go` line among the modules d2k builds: with GOTOOLCHAIN=local, an older Go
    refuses to build that module (containerd's asks for 1.26.6)."""
    lines = []
    for program in ALL_PROGRAMS:
        go_mod = (program.module_dir() / "go.mod").read_text()
        lines += re.findall(r"^go (\S+)$", go_mod, re.M)
    return max(map(_version, lines))


def find_go() -> Path:
    """The Go toolchain, or a D2KError saying how to install one."""
    wanted = ".".join(map(str, required_go()))
    found = shutil.which("go") or (
        "/usr/local/go/bin/go" if Path("/usr/local/go/bin/go").exists() else None
    )
    install = (
        f"install Go {wanted} or newer (for example the official tarball into /usr/local/go) "
        "and put it on PATH"
    )
    if not found:
        raise D2KError(
            "No Go toolchain found: the local cluster builds Kubernetes from source.", install
        )
    out = subprocess.run([found, "env", "GOVERSION"], capture_output=True, text=True).stdout
    if _version(out) < required_go():
        raise D2KError(
            f"{found} is {out.strip() or 'an unknown version'}; building Kubernetes "
            f"{versions.KUBERNETES} and its add-ons needs Go {wanted} or newer.",
            install,
        )
    return Path(found)


def go_env(program: GoProgram) -> dict[str, str]:
    cache = cache_dir()
    env = dict(
        os.environ,
        GOMODCACHE=str(cache / "gomodcache"),
        GOCACHE=str(cache / "gocache"),
        CGO_ENABLED="1" if program.cgo else "0",
        GOTOOLCHAIN="local",
        GOFLAGS="-buildvcs=false -mod=readonly",
        GOWORK="off",
    )
    if program.forks:
        env["GOWORK"] = str(prepare_forks(program, env))
    return env


def _go(program: GoProgram, env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [str(find_go()), *args], cwd=program.module_dir(), env=env, capture_output=True, text=True
    )
    if done.returncode != 0:
        raise D2KError(
            f"`go {' '.join(args)}` failed for {program.name}: {done.stderr.strip()[-2000:]}",
            "check that the Go module proxy is reachable (GOPROXY)",
        )
    return done.stdout.strip()


def prepare_forks(program: GoProgram, env: dict[str, str]) -> Path:
    """Write each fork's source beside the cache (once per fingerprint) and a go.work that puts
    it in place of the module for this checkout; return the go.work's path."""
    root = cache_dir() / "forks" / f"{program.name}-{program.fingerprint()}"
    if not (root / ".complete").exists():
        tmp = root.with_name(root.name + ".tmp")
        shutil.rmtree(tmp, ignore_errors=True)
        for fork in program.forks:
            # The version this module selects (after its go.mod's replace, if any).
            version = _go(
                program, env,
                "list", "-m", "-f", "{{with .Replace}}{{.Version}}{{else}}{{.Version}}{{end}}",
                fork.module,
            )  # fmt: skip
            target = tmp / fork.name
            shutil.copytree(module_dir(program, env, f"{fork.module}@{version}"), target)
            for path in [target, *target.rglob("*")]:
                path.chmod(path.stat().st_mode | 0o200)  # the module cache is read-only
            for drop in fork.drop:
                shutil.rmtree(target / drop)
            shutil.copytree(program.module_dir() / "_forks" / fork.name, target, dirs_exist_ok=True)
        (tmp / ".complete").touch()
        shutil.rmtree(root, ignore_errors=True)
        tmp.rename(root)
    # One go.work per checkout: it names the module's directory.
    checkout = hashlib.sha256(str(program.module_dir()).encode()).hexdigest()[:8]
    work = root / f"{checkout}.work"
    go_line = re.search(r"^go (\S+)$", (program.module_dir() / "go.mod").read_text(), re.M)
    assert go_line, f"{program.module_dir()}/go.mod has no go line"
    replaces = "".join(f"\t{f.module} => {root / f.name}\n" for f in program.forks)
    work.write_text(f"go {go_line[1]}\n\nuse {program.module_dir()}\n\nreplace (\n{replaces})\n")
    return work


def module_dir(program: GoProgram, env: dict[str, str], module: str) -> Path:
    """The downloaded source of `module` (`path` or `path@version`) in the program's build."""
    return Path(json.loads(_go(program, env, "mod", "download", "-json", module))["Dir"])


def module_source(program: GoProgram, module: str) -> Path:
    """The source of a module at the version the program builds with: Kueue's manifests live
    beside its code, the Gateway API's CRDs in the module Traefik builds against."""
    return module_dir(program, go_env(program), module)


def is_built(program: GoProgram) -> bool:
    out = program.out_dir()
    return (out / ".complete").exists() and all((out / b).exists() for b in program.binaries)


def build(program: GoProgram, console: Console | None = None) -> Path:
    """Build `program` unless its pinned binaries are already cached; return their directory."""
    out = program.out_dir()
    if is_built(program):
        return out
    console = console or Console(stderr=True)
    go = find_go()
    cache = cache_dir()
    cache.mkdir(parents=True, exist_ok=True)
    free = shutil.disk_usage(cache).free
    if free < 12 * 2**30:
        raise D2KError(
            f"Only {free / 2**30:.1f} GiB free for the build cache {cache}; building "
            "the cluster needs about 12 GiB.",
            "free some disk space, or set D2K_CACHE_DIR to a larger disk",
        )
    env = go_env(program)
    logs = cache / "logs"
    for d in (logs, out.parent):
        d.mkdir(parents=True, exist_ok=True)
    # Built into a temporary directory and renamed at the end: an interrupted build leaves
    # nothing that looks complete.
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
        raise D2KError(
            f"`go list` failed for {program.name} in {cwd}:\n{listed.stderr.strip()[-2000:]}",
            "check that the Go module proxy is reachable (GOPROXY) and the module pins are valid",
        )
    total = len(listed.stdout.split())
    log_path = logs / f"build-{program.name}.log"
    ldflags = " ".join(("-s", "-w", *program.ldflags))
    cmd = [str(go), "build", "-v", "-trimpath", "-ldflags", ldflags]
    if program.tags:
        cmd += ["-tags", ",".join(program.tags)]
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
        hint = "apt-get install gcc libc6-dev libseccomp-dev" if program.cgo else ""
        raise D2KError(f"Building {program.name} failed (log: {log_path}):\n{tail}", hint)
    (tmp / ".complete").write_text(f"{program.version} {time.monotonic() - start:.0f}s\n")
    shutil.rmtree(out, ignore_errors=True)
    tmp.rename(out)
    return out
