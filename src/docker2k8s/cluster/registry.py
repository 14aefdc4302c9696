"""The cluster's image registry: its addresses, its credentials, and pushing images to it.

The `registry` add-on (cluster/addons/registry/) runs CNCF Distribution on the node's network:
REGISTRY is open, PROTECTED_REGISTRY asks for a password (the lesson of imagePullSecrets). The
node's containerd pulls `localhost:5001/NAME` by name and looks docker.io and ghcr.io names up
there first (the hosts.toml files under cluster/registry/hosts/), so a Pod with
`imagePullPolicy: Always` pulls as it would on a real cluster, with no registry on the internet.
"""

from __future__ import annotations

import base64
import json
import secrets as random_secrets
import shutil
import urllib.error
import urllib.request
from pathlib import Path

import bcrypt
from rich.console import Console

from docker2k8s import shell
from docker2k8s.errors import D2KError
from docker2k8s.paths import cluster_dir

from . import secrets
from .provider import Provider

PORT = 5001
PROTECTED_PORT = 5002
REGISTRY = f"localhost:{PORT}"
PROTECTED_REGISTRY = f"localhost:{PROTECTED_PORT}"
NAMESPACE = "registry"
CREDENTIALS = "registry-credentials"  # Secret: username, password, htpasswd
USERNAME = "learner"
# Names containerd looks up in the registry first: one hosts.toml each under hosts_dir().
MIRRORED = ("docker.io", "ghcr.io")


def hosts_dir() -> Path:
    """containerd's registry configuration (`config_path`): one directory per registry name."""
    return cluster_dir() / "registry" / "hosts"


def install_hosts(target: Path) -> None:
    """Copy the hosts.toml files into the node's `config_path` (containerd rereads them)."""
    for source in sorted(hosts_dir().glob("*/hosts.toml")):
        dest = target / source.parent.name / "hosts.toml"
        if not dest.exists() or dest.read_bytes() != source.read_bytes():
            dest.parent.mkdir(mode=0o755, parents=True, exist_ok=True)
            shutil.copyfile(source, dest)


def ensure_credentials(provider: Provider, console: Console) -> None:
    """Create the protected registry's user once per cluster: a random password, kept only in
    the Secret registry/registry-credentials (the registry reads its bcrypt hash from it)."""
    found = provider.kubectl("get", "secret", CREDENTIALS, "-n", NAMESPACE, check=False)
    if found.returncode == 0:
        return
    password = random_secrets.token_urlsafe(18)
    hashed = bcrypt.hashpw(password.encode(), bcrypt.gensalt()).decode()
    secrets.apply_secret(
        provider,
        NAMESPACE,
        CREDENTIALS,
        {"username": USERNAME, "password": password, "htpasswd": f"{USERNAME}:{hashed}\n"},
    )
    console.print(
        f"[green]✓[/] registry user {USERNAME} created (Secret {NAMESPACE}/{CREDENTIALS})"
    )


def credentials(provider: Provider) -> tuple[str, str]:
    """The protected registry's user and password, read from the cluster."""
    done = provider.kubectl(
        "get", "secret", CREDENTIALS, "-n", NAMESPACE, "-o", "jsonpath={.data}", check=False
    )
    if done.returncode != 0:
        raise D2KError(
            f"The cluster has no Secret {NAMESPACE}/{CREDENTIALS}: {done.stderr.strip()}",
            "run `d2k cluster up` once more: it creates the registry's user",
        )
    data = json.loads(done.stdout)
    return tuple(base64.b64decode(data[k]).decode() for k in ("username", "password"))  # type: ignore[return-value]


def target(ref: str, registry: str = REGISTRY) -> str:
    """Where `ref` goes in `registry`. docker.io names keep their path, so the docker.io mirror
    finds them (`docker2k8s/chat:0.1.0` -> `localhost:5001/docker2k8s/chat:0.1.0`); other
    registries' names keep their host as the first part (`ghcr.io/org/app:1` ->
    `localhost:5001/ghcr.io/org/app:1`), the path the ghcr.io mirror asks for."""
    first, _, rest = ref.partition("/")
    if rest and ("." in first or ":" in first or first == "localhost"):
        path = rest if first == "docker.io" else ref
    else:
        path = ref
    return f"{registry}/{path}"


def answers(registry: str = REGISTRY, timeout: float = 2) -> bool:
    """Whether a registry answers the OCI distribution API at `registry` (401 counts)."""
    try:
        urllib.request.urlopen(f"http://{registry}/v2/", timeout=timeout).close()
    except urllib.error.HTTPError as error:
        return error.code == 401
    except OSError:
        return False
    return True


def push(ref: str, registry: str = REGISTRY) -> str:
    """Tag the local Docker image `ref` for `registry` and push it; return the pushed name."""
    host = registry.partition("/")[0]
    # A registry on this machine is checked first (plain HTTP on loopback): docker's own error
    # for a closed port is a retry loop and a message about HTTPS.
    if host.partition(":")[0] in ("localhost", "127.0.0.1") and not answers(host):
        raise D2KError(
            f"No registry answers at {host}.",
            "start the cluster (`d2k cluster up`); `d2k cluster status` shows the add-on "
            f"registry, which serves {REGISTRY} and {PROTECTED_REGISTRY}",
        )
    name = target(ref, registry)
    shell.run(["docker", "tag", ref, name], what=f"docker tag {ref} {name}")
    shell.run(
        ["docker", "push", "--quiet", name],
        what=f"docker push {name}",
        fix=f"for {PROTECTED_REGISTRY}, log in first: `docker login {PROTECTED_REGISTRY}` "
        f"(the password is in the Secret {NAMESPACE}/{CREDENTIALS})",
        timeout=900,
    )
    return name
