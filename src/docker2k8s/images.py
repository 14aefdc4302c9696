"""Build the running example's images with no container registry.

The base image is made from Debian packages (debootstrap into a directory, then `docker import`);
every app Dockerfile starts `FROM ${BASE}`, so online users may pass an official image instead.
Builds are cached: an image whose inputs (files, base image) have not changed is not rebuilt.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from pathlib import Path

from docker2k8s import apt_sources, shell, versions
from docker2k8s.errors import D2KError
from docker2k8s.paths import REPO_ROOT, cache_dir

APPS_DIR = REPO_ROOT / "apps"
PREFIX = "docker2k8s"
BASE_REF = f"{PREFIX}/base:bookworm"
SUITE = "bookworm"
HASH_LABEL = "org.docker2k8s.inputs"
APP_NAMES = ("inference", "chat", "web", "db")
ALL_NAMES = ("base", *APP_NAMES)

# Files written into the base image's root file system. The same trims Debian's official
# "slim" images make; policy-rc.d stops package scripts from starting daemons during builds.
_BASE_FILES = {
    "etc/apt/sources.list": (
        "deb {mirror} bookworm main\n"
        "deb {mirror} bookworm-updates main\n"
        "deb {security} bookworm-security main\n"
    ),
    "etc/apt/apt.conf.d/90docker2k8s": (
        'APT::Install-Recommends "false";\n'
        'APT::Install-Suggests "false";\n'
        'Acquire::Languages "none";\n'
        # No binary package caches (~70 MB after `apt-get update`) left in image layers.
        'Dir::Cache::pkgcache "";\n'
        'Dir::Cache::srcpkgcache "";\n'
        'DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb || true"; };\n'
    ),
    "etc/dpkg/dpkg.cfg.d/90docker2k8s": (
        "path-exclude /usr/share/doc/*\n"
        "path-include /usr/share/doc/*/copyright\n"
        "path-exclude /usr/share/man/*\n"
        "path-exclude /usr/share/info/*\n"
        "path-exclude /usr/share/locale/*\n"
        "path-include /usr/share/locale/locale.alias\n"
    ),
    "usr/sbin/policy-rc.d": "#!/bin/sh\nexit 101\n",
}
_BASE_TRIM = (
    "var/cache/apt/archives",
    "var/lib/apt/lists",
    "usr/share/doc",
    "usr/share/man",
    "usr/share/info",
    "usr/share/locale",
    "var/log",
)


@dataclass(frozen=True)
class ImageSpec:
    name: str
    context: Path | None  # None for the base image, which is imported, not built

    @property
    def ref(self) -> str:
        return BASE_REF if self.name == "base" else f"{PREFIX}/{self.name}:{versions.APPS}"

    @property
    def latest(self) -> str:
        return BASE_REF if self.name == "base" else f"{PREFIX}/{self.name}:latest"


def image_specs(names: Iterable[str] | None = None) -> list[ImageSpec]:
    """The images to build, base first, in dependency order; unknown names are an error."""
    wanted = list(names) if names else list(ALL_NAMES)
    unknown = [n for n in wanted if n not in ALL_NAMES]
    if unknown:
        raise D2KError(
            f"unknown image name(s): {', '.join(unknown)}",
            f"choose from {', '.join(ALL_NAMES)}",
            exit_code=2,
        )
    return [ImageSpec(n, None if n == "base" else APPS_DIR / n) for n in ALL_NAMES if n in wanted]


def image_refs(names: Iterable[str] | None = None) -> list[str]:
    """Tags `d2k images build` produces (name:version), for loading into a cluster."""
    return [s.ref for s in image_specs(names)]


def built_images(names: Iterable[str] | None = None) -> list[str]:
    """The tags from image_refs() that exist in the local Docker Engine now."""
    return [ref for ref in image_refs(names) if image_id(ref) is not None]


# ---- docker helpers ---------------------------------------------------------------------------
def _docker(*args: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """A quick docker command (inspect, tag, version): a hung Docker Engine is a D2KError."""
    return shell.run(
        ["docker", *args],
        what=f"`docker {' '.join(args[:2])}`",
        fix="check that Docker Engine answers (`docker version`); d2k setup starts it",
        check=False,
        timeout=timeout,
    )


def image_id(ref: str) -> str | None:
    """The local Docker image ID of `ref`, or None when Docker Engine has no such image."""
    r = _docker("image", "inspect", "--format", "{{.Id}}", ref)
    return r.stdout.strip() if r.returncode == 0 else None


def _image_label(ref: str, label: str) -> str | None:
    r = _docker("image", "inspect", "--format", f'{{{{index .Config.Labels "{label}"}}}}', ref)
    return r.stdout.strip() if r.returncode == 0 else None


def check_docker() -> None:
    shell.require("docker")
    r = _docker("version", "--format", "{{.Server.Version}}", timeout=15)
    if r.returncode != 0:
        raise D2KError(
            f"Docker Engine is not reachable ({r.stderr.strip()[:200]}).",
            "d2k setup (starts dockerd), or `systemctl start docker`; then `docker version`",
        )


def context_hash(context: Path, *extra: str) -> str:
    """A digest of every file in a build context (minus caches), plus extra inputs."""
    h = hashlib.sha256()
    for path in sorted(context.rglob("*")):
        if path.is_dir() or "__pycache__" in path.parts or path.suffix == ".pyc":
            continue
        h.update(str(path.relative_to(context)).encode() + b"\0")
        h.update(path.read_bytes() + b"\0")
    for item in extra:
        h.update(item.encode() + b"\0")
    return h.hexdigest()[:16]


# ---- the base image ---------------------------------------------------------------------------
def _host_archive() -> str:
    return apt_sources.host_mirrors(SUITE).archive


def security_mirror(archive: str) -> str:
    """The security archive that goes with `archive`: the host's when it uses the same archive."""
    try:
        host = apt_sources.host_mirrors(SUITE)
    except D2KError:
        return apt_sources.derived_security(archive)
    return host.security if host.archive == archive else apt_sources.derived_security(archive)


def base_inputs(mirror: str) -> str:
    text = repr(sorted(_BASE_FILES.items())) + repr(_BASE_TRIM) + SUITE + mirror
    return hashlib.sha256(text.encode()).hexdigest()[:16]


def build_base(mirror: str, force: bool, step: Callable[[str], None], log: Path) -> bool:
    """debootstrap --variant=minbase into a directory, trim it and `docker import` it.

    The root file system tarball is kept in the cache, so a deleted image is re-imported in
    seconds. Returns False when the image was already up to date.
    """
    key = base_inputs(mirror)
    if not force and _image_label(BASE_REF, HASH_LABEL) == key:
        return False
    tarball = cache_dir() / "base" / f"{SUITE}-{key}.tar"
    if force or not tarball.is_file():
        _debootstrap_tarball(mirror, tarball, step, log)
    step("docker import")
    with tarball.open("rb") as fh, log.open("a") as out:
        r = subprocess.run(
            [
                "docker",
                "import",
                "--change",
                f"LABEL {HASH_LABEL}={key}",
                "--change",
                "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                "--change",
                "ENV LANG=C.UTF-8",
                "--change",
                'CMD ["bash"]',
                "-",
                BASE_REF,
            ],
            stdin=fh,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    if r.returncode != 0:
        raise D2KError(f"docker import of the base image failed; see {log}")
    return True


def _debootstrap_tarball(mirror: str, tarball: Path, step: Callable[[str], None], log: Path):
    if shutil.which("debootstrap") is None:
        raise D2KError(
            "debootstrap is not installed: apt-get install debootstrap "
            "(or pass --base debian:bookworm-slim to use the official image when online)"
        )
    if os.geteuid() != 0:
        raise D2KError(
            "debootstrap needs root to create device files and set owners; "
            "run `d2k images build` as root (e.g. with sudo)"
        )
    tarball.parent.mkdir(parents=True, exist_ok=True)
    work = Path(tempfile.mkdtemp(prefix="rootfs-", dir=tarball.parent))
    rootfs = work / "rootfs"
    try:
        step("debootstrap (downloads ~40 MB of Debian packages)")
        with log.open("a") as out:
            r = subprocess.run(
                ["debootstrap", "--variant=minbase", SUITE, str(rootfs), mirror],
                stdout=out,
                stderr=subprocess.STDOUT,
            )
        if r.returncode != 0:
            raise D2KError(
                f"debootstrap failed (is {mirror} reachable? set D2K_DEBIAN_MIRROR to a local "
                f"mirror); see {log}"
            )
        step("trimming the root file system")
        for rel in _BASE_TRIM:
            target = rootfs / rel
            if target.is_dir():
                for child in target.iterdir():
                    if child.is_dir() and not child.is_symlink():
                        shutil.rmtree(child)
                    else:
                        child.unlink()
        security = security_mirror(mirror)
        for rel, content in _BASE_FILES.items():
            path = rootfs / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(content.replace("{mirror}", mirror).replace("{security}", security))
        (rootfs / "usr/sbin/policy-rc.d").chmod(0o755)
        (rootfs / "var/lib/apt/lists/partial").mkdir(parents=True, exist_ok=True)
        (rootfs / "var/cache/apt/archives/partial").mkdir(parents=True, exist_ok=True)
        step("packing the root file system")
        partial = tarball.with_suffix(".partial")
        with partial.open("wb") as fh:
            r = subprocess.run(
                ["tar", "--numeric-owner", "--xattrs", "-C", str(rootfs), "-c", "."], stdout=fh
            )
        if r.returncode != 0:
            raise D2KError(f"tar of {rootfs} failed")
        partial.replace(tarball)
        for stale in tarball.parent.glob(f"{SUITE}-*.tar"):  # older inputs: never used again
            if stale != tarball:
                stale.unlink()
    finally:
        shutil.rmtree(work, ignore_errors=True)


# ---- app images -------------------------------------------------------------------------------
def build_app(
    spec: ImageSpec, base: str, force: bool, step: Callable[[str], None], log: Path
) -> bool:
    """`docker build` one app; skipped when its files and base image are unchanged."""
    assert spec.context is not None
    base_id = image_id(base)
    if base_id is None:
        fix = f"docker pull {base}, then build again"
        if base == BASE_REF:
            fix = "d2k images build base"
        raise D2KError(f"The base image {base} is not in the local Docker Engine.", fix)
    key = context_hash(spec.context, base, base_id)
    if not force and _image_label(spec.ref, HASH_LABEL) == key:
        if image_id(spec.latest) != image_id(spec.ref):
            _docker("tag", spec.ref, spec.latest)
        return False
    previous = image_id(spec.ref)
    cmd = [
        "docker",
        "build",
        "--build-arg",
        f"BASE={base}",
        "--label",
        f"{HASH_LABEL}={key}",
        "-t",
        spec.ref,
        "-t",
        spec.latest,
        str(spec.context),
    ]
    # The legacy builder works with the Debian Engine and needs no buildx plugin.
    env = os.environ | {"DOCKER_BUILDKIT": "0"}
    with log.open("a") as out:
        out.write("$ " + " ".join(cmd) + "\n")
        out.flush()
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            out.write(line)
            if line.startswith("Step "):
                step(line.strip()[:70])
        proc.wait()
    if proc.returncode != 0:
        raise D2KError(
            f"docker build of {spec.ref} failed; the last lines of {log}:\n"
            + "".join(log.read_text().splitlines(keepends=True)[-15:])
        )
    if previous and previous != image_id(spec.ref):
        _docker("rmi", previous)  # the superseded build; kept while a container still uses it
    return True


@dataclass
class BuildResult:
    ref: str
    built: bool  # False: already up to date (cache hit)
    size_mb: float


def image_size_mb(ref: str) -> float:
    r = _docker("image", "inspect", "--format", "{{.Size}}", ref)
    return int(r.stdout.strip()) / 1e6 if r.returncode == 0 else 0.0


def build_images(
    names: Iterable[str] | None = None,
    base: str | None = None,
    force: bool = False,
    mirror: str | None = None,
    on_step: Callable[[str, str], None] | None = None,
) -> list[BuildResult]:
    """Build base + apps (or the named ones). `base` swaps the Debian-built base for any image
    (e.g. an official one when online); then no base is built."""
    specs = image_specs(names)
    if base and base != BASE_REF:
        specs = [s for s in specs if s.name != "base"]
    return build_specs(specs, base or BASE_REF, force, mirror, on_step)


def build_specs(
    specs: list[ImageSpec],
    base: str,
    force: bool = False,
    mirror: str | None = None,
    on_step: Callable[[str, str], None] | None = None,
) -> list[BuildResult]:
    """Build `specs` in order, the apps FROM `base`. Only building the Debian base itself needs a
    Debian mirror: a host without bookworm apt sources (a laptop, macOS) builds on a pulled one."""
    check_docker()
    if any(spec.name == "base" for spec in specs):
        mirror = mirror or os.environ.get("D2K_DEBIAN_MIRROR") or _host_archive()
    logs = cache_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    results = []
    for spec in specs:
        log = logs / f"build-{spec.name}.log"
        log.write_text("")

        def step(text: str, name: str = spec.name) -> None:
            if on_step:
                on_step(name, text)

        if spec.name == "base":
            assert mirror is not None
            built = build_base(mirror, force, step, log)
        else:
            built = build_app(spec, base, force, step, log)
        results.append(BuildResult(spec.ref, built, image_size_mb(spec.ref)))
    return results
