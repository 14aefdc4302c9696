"""The throwaway sandbox a learner's kernel runs in while `d2k grade` scores it.

The grader runs as root: it holds the cluster's admin credentials and reads solutions/. The
learner's code must reach neither, nor leave anything behind. So the kernel runs under bubblewrap
as the unprivileged user `d2k-learner`, in namespaces of its own (mounts, PIDs, IPC: every process
it started dies with it): the whole file system read-only, solutions/ and the repository's history
hidden, /tmp private, and one writable folder, the grading's workspace. Its Kubernetes access is a
kubeconfig scoped to what the lab needs (access.py); Docker's socket only for labs that use Docker.

When `d2k grade` does not run as root there is nothing to drop: the kernel runs as the same user,
outside a sandbox, and the report says so.
"""

from __future__ import annotations

import contextlib
import grp
import os
import pwd
import shutil
import stat
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from jupyter_client.manager import AsyncKernelManager

from docker2k8s.cluster import record
from docker2k8s.compose_plugin import plugin_dir
from docker2k8s.errors import D2KError
from docker2k8s.labs import SOLUTIONS_DIR
from docker2k8s.paths import REPO_ROOT, cache_dir

LEARNER = "d2k-learner"
DOCKER_SOCKET = Path("/var/run/docker.sock")
# The Compose stack's database passwords, in a folder only root may enter. A lab that runs the
# stack reads them (and Docker mounts them from this very path), so the kernel sees a copy there.
COMPOSE_SECRETS = REPO_ROOT / "apps" / "secrets"


class SandboxUnavailable(D2KError):
    exit_code = 2


@dataclass
class Sandbox:
    """How one grading's kernel is started: as whom, seeing what, with which environment."""

    workspace: Path
    docker: bool = False  # the lab runs Docker commands: the kernel gets Docker's socket
    hidden: list[Path] = field(default_factory=list)  # files it must not read (the solution)
    kubeconfig: str = ""  # the scoped kubeconfig's text; empty: no cluster access

    @property
    def home(self) -> Path:
        return self.workspace / "home"

    @property
    def _secrets(self) -> Path:
        return self.workspace / "compose-secrets"

    @property
    def isolated(self) -> bool:
        return os.geteuid() == 0

    @property
    def owner(self) -> tuple[int, int] | None:
        """(uid, gid) of the user the kernel runs as, when that is not the grader's."""
        return (learner().pw_uid, learner().pw_gid) if self.isolated else None

    def describe(self) -> str:
        docker = "with Docker's socket" if self.docker else "without Docker"
        if not self.isolated:
            return f"the kernel ran as you, outside a sandbox (d2k grade is not root), {docker}"
        return f"the kernel ran as {LEARNER} in a throwaway sandbox, {docker}"

    def prepare(self) -> dict[str, str]:
        """Make the learner's home and return the kernel's environment additions."""
        self.home.mkdir(parents=True, exist_ok=True)
        (self.workspace / "tmp").mkdir(exist_ok=True)
        kube = self.home / ".kube"
        kube.mkdir(exist_ok=True)
        (kube / "config").write_text(self.kubeconfig)
        if record.path().exists():  # the cluster's provider, registry and namespace prefix
            shutil.copy(record.path(), kube / record.path().name)
        if not self.isolated and plugin_dir().is_dir():  # the user's own `docker compose`
            shutil.copytree(plugin_dir(), self.home / ".docker" / "cli-plugins", dirs_exist_ok=True)
        if self.isolated and self.docker and (COMPOSE_SECRETS / "create.sh").exists():
            subprocess.run([COMPOSE_SECRETS / "create.sh"], check=True, capture_output=True)
            shutil.copytree(COMPOSE_SECRETS, self._secrets)
        if self.owner:
            for path in [self.workspace, *self.workspace.rglob("*")]:
                os.chown(path, *self.owner, follow_symlinks=False)
        return {
            "HOME": str(self.home),
            "KUBECONFIG": str(kube / "config"),
            "TMPDIR": str(self.workspace / "tmp"),
            "D2K_CACHE_DIR": str(cache_dir()),  # the built tools (kubectl, kompose), read-only
            "D2K_STATE_DIR": str(self.workspace / "state"),
            "XDG_CACHE_HOME": str(self.home / ".cache"),
            "XDG_STATE_HOME": str(self.home / ".local" / "state"),
        }

    def wrap(self, command: list[str]) -> list[str]:
        """The kernel's command line, run inside the sandbox."""
        if not self.isolated:
            return command
        bwrap = shutil.which("bwrap")
        if not bwrap:
            raise SandboxUnavailable(
                "bubblewrap is not installed: d2k grade runs the learner's kernel in a sandbox",
                fix="d2k setup (or apt-get install bubblewrap)",
            )
        user = learner()
        groups = [str(grp.getgrnam("docker").gr_gid)] if self.docker and _docker_group() else []
        args = [bwrap, "--ro-bind", "/", "/", "--dev", "/dev", "--proc", "/proc"]
        args += ["--tmpfs", "/tmp", "--unshare-pid", "--unshare-ipc", "--die-with-parent"]
        # What lives under a folder the learner cannot enter (root's home, a CI clone in a 0700
        # folder) is mounted again at the same path over an empty tmpfs, so absolute paths (the
        # venv's python link, editable installs) still resolve.
        wanted = {Path(sys.base_prefix), Path(sys.prefix), REPO_ROOT, cache_dir()}
        needed = [p for p in wanted if not any(o in p.parents for o in wanted)]
        closed = {p: c for p in needed if (c := _closed_ancestor(p))}
        for folder in sorted(set(closed.values())):
            args += ["--perms", "0755", "--tmpfs", str(folder)]
        for path in sorted(p for p in needed if p.exists()):
            between = [d for d in reversed(path.parents) if closed.get(path) in d.parents]
            for folder in between:
                args += ["--perms", "0755", "--dir", str(folder)]
            args += ["--ro-bind", str(path), str(path)]
        for secret in [SOLUTIONS_DIR, REPO_ROOT / ".git", *self.hidden]:
            if secret.is_dir():
                args += ["--tmpfs", str(secret)]
            elif secret.exists():
                args += ["--ro-bind", "/dev/null", str(secret)]
        if self._secrets.is_dir():
            args += ["--ro-bind", str(self._secrets), str(COMPOSE_SECRETS)]
        args += ["--bind", str(self.workspace), str(self.workspace), "--chdir", str(self.workspace)]
        setpriv = ["setpriv", f"--reuid={user.pw_uid}", f"--regid={user.pw_gid}"]
        setpriv += [f"--groups={','.join(groups)}"] if groups else ["--clear-groups"]
        # Inside, the kernel's parent is bwrap's init (PID 1), not the grader: told so, ipykernel
        # neither takes it for its parent's death nor prints a standalone kernel's banner. bwrap
        # ends the sandbox when the grader ends (--die-with-parent).
        setpriv += ["--inh-caps=-all", "--bounding-set=-all", "env", "JPY_PARENT_PID=1"]
        return [*args, "--", *setpriv, *command]


def _closed_ancestor(path: Path) -> Path | None:
    """The outermost folder above `path` that others may not enter, if any."""
    for folder in reversed(path.parents):
        if folder != Path("/") and not os.stat(folder).st_mode & stat.S_IXOTH:
            return folder
    return None


def _docker_group() -> bool:
    try:
        return DOCKER_SOCKET.stat().st_gid == grp.getgrnam("docker").gr_gid
    except (OSError, KeyError):
        return False


def learner() -> pwd.struct_passwd:
    """The unprivileged user kernels run as; made on first use (a system user, no login)."""
    try:
        return pwd.getpwnam(LEARNER)
    except KeyError:
        made = subprocess.run(
            ["useradd", "--system", "--no-create-home", "--shell", "/usr/sbin/nologin", LEARNER],
            capture_output=True,
            text=True,
        )
        if made.returncode != 0:
            with contextlib.suppress(KeyError):  # a grading beside this one made it first
                return _made_by_another()
            raise SandboxUnavailable(
                f"could not make the user {LEARNER} the learner's kernel runs as: "
                f"{made.stderr.strip()}",
                fix=f"useradd --system --no-create-home --shell /usr/sbin/nologin {LEARNER}",
            ) from None
        return pwd.getpwnam(LEARNER)


def _made_by_another(seconds: float = 5) -> pwd.struct_passwd:
    """The learner's user, once the useradd that holds the user database's lock has finished."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            return pwd.getpwnam(LEARNER)
        except KeyError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.2)


class SandboxedKernelManager(AsyncKernelManager):
    """Starts the kernel through the sandbox, with its connection file in the workspace (the
    learner's kernel reads it; it holds nothing but that kernel's ports and key)."""

    sandbox: Sandbox | None = None

    def format_kernel_cmd(self, extra_arguments: list[str] | None = None) -> list[str]:
        command = super().format_kernel_cmd(extra_arguments)
        return self.sandbox.wrap(command) if self.sandbox else command

    def write_connection_file(self, **kwargs) -> None:
        super().write_connection_file(**kwargs)
        if self.sandbox and self.sandbox.owner:
            os.chown(self.connection_file, *self.sandbox.owner)


def kernel_manager(sandbox: Sandbox) -> SandboxedKernelManager:
    km = SandboxedKernelManager(kernel_name="python3")
    km.sandbox = sandbox
    km.connection_file = str(sandbox.workspace / "kernel.json")
    return km
