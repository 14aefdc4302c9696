"""Every provider offers the same interface and gets the same add-ons; `up` records which one."""

from __future__ import annotations

import inspect
import io
import ipaddress
import os
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from rich.console import Console

from docker2k8s import cluster as clusters
from docker2k8s import versions
from docker2k8s.cluster import (
    Provider,
    addons,
    get_provider,
    gobuild,
    kubeconfig,
    names,
    record,
    registry,
)
from docker2k8s.cluster.actions import installed_addons
from docker2k8s.cluster.external import ExternalProvider
from docker2k8s.cluster.kind import KindProvider, config_path, kind_usable
from docker2k8s.cluster.local import LocalProvider
from docker2k8s.errors import D2KError

PROVIDERS = (LocalProvider, KindProvider, ExternalProvider)
INTERFACE = ("up", "down", "exists", "status", "load_image", "kubeconfig", "kubectl")


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)
def test_every_provider_offers_the_whole_interface(provider: type) -> None:
    for method in (*INTERFACE, "manifest_values", "cluster_ca"):
        wanted = inspect.signature(getattr(Provider, method))
        offered = inspect.signature(getattr(provider, method))
        assert list(offered.parameters) == list(wanted.parameters), (provider, method)
    assert provider.ships <= {a.name for a in addons.ADDONS}


def test_kind_config_matches_the_shared_networks() -> None:
    config = yaml.safe_load(config_path().read_text())
    # One node that runs containers, as on the local cluster; the GPU pool adds the rest.
    assert [n["role"] for n in config["nodes"]] == ["control-plane"]
    # The same pod and Service networks as the local provider, so the labs read the same.
    pods = ipaddress.ip_network(config["networking"]["podSubnet"])
    assert ipaddress.ip_network(names.POD_CIDR).subnet_of(pods)
    assert config["networking"]["serviceSubnet"] == names.SERVICE_CIDR
    # The registry add-on listens inside the node; the laptop reaches it at the same addresses.
    mapped = {(m["listenAddress"], m["hostPort"], m["containerPort"])
              for m in config["nodes"][0]["extraPortMappings"]}  # fmt: skip
    for port in (registry.PORT, registry.PROTECTED_PORT):
        assert ("127.0.0.1", port, port) in mapped


def _kind_create(config: Path, tmp_path: Path) -> str:
    """`kind create cluster` with kind's own CLI, built from its Go module, against a docker that
    answers only `info` and `ps`: kind loads and validates the config, then stops at its first
    real docker command (pulling the node image). Returns what kind printed."""
    fake = tmp_path / "bin" / "docker"
    fake.parent.mkdir(exist_ok=True)
    fake.write_text(
        "#!/bin/sh\n"
        'case "$1" in\n'
        '  info) echo \'{"CgroupVersion": "2", "CgroupDriver": "systemd", "MemoryLimit": true,'
        ' "PidsLimit": true, "CPUShares": true, "SecurityOptions": []}\' ;;\n'
        "  ps) ;;\n"
        '  *) echo "stopped here: docker $*" >&2; exit 1 ;;\n'
        "esac\n"
    )
    fake.chmod(0o755)
    kind = gobuild.build(gobuild.KIND) / "kind"
    done = subprocess.run(
        [kind, "create", "cluster", "--config", config, "--image", versions.KIND_NODE_IMAGE],
        env={**os.environ, "PATH": f"{fake.parent}:{os.environ['PATH']}"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    return done.stdout + done.stderr


def test_kinds_own_loader_accepts_the_kind_config(tmp_path: Path) -> None:
    """kind cannot run here: its own config loader and validation run on cluster/kind.yaml."""
    said = _kind_create(config_path(), tmp_path)
    assert f"stopped here: docker pull {versions.KIND_NODE_IMAGE}" in said, said
    # The same run rejects what it should: the check is not vacuous.
    typo = tmp_path / "typo.yaml"
    typo.write_text(config_path().read_text().replace("listenAddress", "listenAdress"))
    assert "field listenAdress not found" in _kind_create(typo, tmp_path)


@pytest.mark.parametrize("provider", PROVIDERS, ids=lambda p: p.name)
def test_add_ons_render_with_locally_built_images(provider: type) -> None:
    instance = provider()  # making one has no effect: rendering needs no cluster
    for addon in installed_addons(instance):
        docs = [d for d in yaml.safe_load_all(addon.manifest(instance)) if d]
        refs = {image.ref for image in addon.images}
        for doc in docs:
            if doc["kind"] in ("Deployment", "DaemonSet"):
                for container in doc["spec"]["template"]["spec"]["containers"]:
                    assert container["imagePullPolicy"] == "Never", (addon.name, container)
                    assert container["image"] in refs, (addon.name, container["image"], refs)


@pytest.mark.cluster
def test_kinds_add_ons_are_accepted_by_the_api_server(cluster: Provider) -> None:
    """kind cannot run here; what d2k applies there goes through a real API server."""
    kind = KindProvider()
    for addon in installed_addons(kind):
        for manifest in (addon.manifest(kind), addon.manifest_when_ready(kind)):
            if not manifest:
                continue
            done = cluster.kubectl(
                "apply", "--server-side", "--force-conflicts", "--field-manager=d2k",
                "--dry-run=server", "-f", "-", stdin=manifest,
            )  # fmt: skip
            lines = done.stdout.splitlines()  # a rejected object fails the kubectl call instead
            assert lines and all(line.endswith("(server dry run)") for line in lines), done
    metrics = addons.by_name("metrics-server").manifest(kind)
    assert "--kubelet-insecure-tls" in metrics


def test_kind_provider_works_where_kind_can_run() -> None:
    usable, reason = kind_usable()
    if not usable:
        pytest.skip(f"kind cannot run here: {reason}")
    from docker2k8s import cluster

    provider = cluster.up("kind")
    assert all(row.healthy for row in cluster.status(provider))


def test_unknown_provider_is_a_clear_error(d2k) -> None:
    done = d2k("cluster", "up", "--provider", "minikube")
    assert done.returncode == 1, done.stdout + done.stderr
    assert "Unknown cluster provider 'minikube'" in done.stderr
    assert "choose one of auto, local, kind" in done.stderr
    assert "Traceback" not in done.stderr


@pytest.mark.cluster
def test_up_records_the_provider_and_status_names_it(cluster: Provider, d2k) -> None:
    assert record.provider() == cluster.name
    done = d2k("cluster", "status")
    assert done.returncode == 0, done.stdout + done.stderr
    assert f"provider {cluster.name}" in done.stdout
    rows = ["nodes", *(f"add-on {a.name}" for a in installed_addons(cluster)), "cluster DNS"]
    rows += ["GPUs", "default StorageClass", "metrics API", "batch queue", "permissions"]
    rows += ["Ingress and Gateway API", "custom metrics API"]
    for row in rows:
        assert row in done.stdout, done.stdout


def test_up_as_non_root_names_the_fix(tmp_path, d2k) -> None:
    """As another user, wherever the checkout is: CAP_DAC_READ_SEARCH lets that user read a
    checkout (and a Python) in a 0700 home, and gives no root."""
    if os.geteuid() != 0:
        done = d2k("cluster", "up", "--provider", "local")
    else:
        os.chown(tmp_path, 65534, 65534)
        done = subprocess.run(
            ["setpriv", "--reuid=65534", "--regid=65534", "--clear-groups",
             "--inh-caps=+dac_read_search", "--ambient-caps=+dac_read_search",
             shutil.which("d2k") or "d2k", "cluster", "up", "--provider", "local"],
            capture_output=True, text=True, env={**os.environ, "HOME": str(tmp_path)},
            cwd=tmp_path,
        )  # fmt: skip
    assert done.returncode == 1, done.stdout + done.stderr
    assert "needs root" in done.stderr and "sudo d2k cluster up" in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A HOME of the test's own: the record and kubeconfigs of the running cluster stay as is."""
    monkeypatch.setenv("HOME", str(tmp_path))
    return tmp_path


def _bin(folder: Path, scripts: dict[str, str]) -> str:
    """A PATH entry holding small shell `scripts` (name -> body) that stand in for host tools."""
    folder.mkdir(parents=True, exist_ok=True)
    for name, body in scripts.items():
        (folder / name).write_text(f"#!/bin/sh\n{body}\n")
        (folder / name).chmod(0o755)
    return str(folder)


def test_auto_is_the_recorded_provider_whatever_is_on_path(home: Path, monkeypatch) -> None:
    """A notebook kernel without kind on PATH still finds the kind cluster `up` recorded, and a
    kind on PATH does not turn a recorded local cluster into a kind one."""
    without_kind = _bin(home / "plain", {})
    with_kind = _bin(home / "laptop", {"kind": 'echo "kind v0.30.0"'})
    monkeypatch.setenv("PATH", without_kind)
    assert get_provider("auto").name == "local"  # nothing recorded, no kind: the guess
    record.save("kind")
    assert get_provider("auto").name == "kind"
    record.save("local")
    monkeypatch.setenv("PATH", with_kind)
    assert get_provider("auto").name == "local"


# kind's CLI as far as these tests use it: one cluster, which exists while the file
# `kind-cluster` in HOME does; its node containers are listed in HOME/kind-nodes, its kubeconfig
# is HOME/kind-kubeconfig, and loaded images are listed in HOME/kind-loaded (PATH holds only
# fakes: other programs are named by their path).
FAKE_KIND = """case "$1 $2" in
  "delete cluster") /bin/rm -f "$HOME/kind-cluster" ;;
  "get clusters") [ -e "$HOME/kind-cluster" ] && echo docker2k8s ;;
  "get nodes") [ -e "$HOME/kind-nodes" ] && /bin/cat "$HOME/kind-nodes" ;;
  "get kubeconfig") /bin/cat "$HOME/kind-kubeconfig" ;;
  "load docker-image") echo "$3" >> "$HOME/kind-loaded" ;;
  *) echo "not in this test: kind $*" >&2; exit 1 ;;
esac
exit 0"""


def _entry(name: str, user: str) -> dict:
    return {
        "clusters": [{"name": name, "cluster": {"server": "https://127.0.0.1:6443"}}],
        "users": [{"name": user, "user": {"token": "t"}}],
        "contexts": [{"name": name, "context": {"cluster": name, "user": user}}],
        "current-context": name,
    }


def test_down_on_kind_removes_the_context(home: Path, monkeypatch) -> None:
    """kind's `down` deletes the cluster: the `docker2k8s` context goes with it, so neither
    kubectl nor the grader (which prefers that context) reaches for a cluster that is gone."""
    monkeypatch.setenv("PATH", _bin(home / "bin", {"kind": FAKE_KIND}))
    (home / "kind-cluster").touch()
    user_config = kubeconfig.user_kubeconfig()
    kubeconfig.write(user_config, _entry("laptop", "me"))  # the reader's own context stays
    kind = KindProvider()
    kubeconfig.write(kind.kubeconfig(), kubeconfig.renamed(_entry("kind-x", "x"), "d2k-kind"))
    kubeconfig.merge_into(user_config, kind.kubeconfig())
    record.save("kind")
    assert yaml.safe_load(user_config.read_text())["current-context"] == names.CONTEXT_NAME

    clusters.down(console=Console(file=io.StringIO()))

    assert not (home / "kind-cluster").exists() and not kind.kubeconfig().exists()
    left = yaml.safe_load(user_config.read_text())
    assert [c["name"] for c in left["contexts"]] == ["laptop"]
    assert [c["name"] for c in left["clusters"]] == ["laptop"]
    assert [u["name"] for u in left["users"]] == ["me"]
    # No current context rather than a guess: kubectl says so instead of reaching another
    # cluster, and the grader (which takes `docker2k8s` when there is one) finds none.
    assert left["current-context"] == ""
    assert record.provider() is None  # `d2k cluster status` says to run `up`
    with pytest.raises(D2KError, match="No workshop cluster"):
        clusters.current()


def test_kind_up_without_kubectl_names_the_fix(home: Path, d2k, monkeypatch) -> None:
    """kind brings no kubectl and the labs run it: `up` says how to get one before it creates a
    cluster, and a lab helper says the same instead of a traceback."""
    from docker2k8s import labkit
    from docker2k8s.cluster.kubectl import KubectlMissing

    kind = _bin(home / "bin", {"kind": 'touch "$HOME/kind-ran"; exit 1'})
    env = {**os.environ, "PATH": kind, "COLUMNS": "200"}
    done = d2k("cluster", "up", "--provider", "kind", env=env)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "kubectl is not installed" in done.stderr and "Install Tools" in done.stderr
    assert "Traceback" not in done.stderr
    assert not (home / "kind-ran").exists()  # checked before creating anything

    monkeypatch.setenv("PATH", kind)  # as a notebook kernel started without kubectl on PATH
    manifest = home / "pod.yaml"
    manifest.write_text("apiVersion: v1\nkind: Pod\n")
    with pytest.raises(KubectlMissing, match="Install Tools"):
        labkit.apply(manifest, namespace="lab03")


def test_kind_is_found_where_up_found_it(home: Path, monkeypatch) -> None:
    """`up` records the kind it used: `d2k images load` in a notebook kernel without kind on
    PATH loads through that one, instead of building kind from source or finding no cluster."""
    laptop = _bin(home / "bin", {"kind": FAKE_KIND, "kubectl": "exit 0"})
    (home / "kind-cluster").touch()
    kubeconfig.write(home / "kind-kubeconfig", _entry("kind-docker2k8s", "kind-docker2k8s"))
    monkeypatch.setenv("PATH", laptop)
    record.save("kind")
    KindProvider().up(Console(file=io.StringIO()))
    assert record.settings()["kind"] == f"{laptop}/kind"

    monkeypatch.setenv("PATH", _bin(home / "kernel", {}))
    provider = clusters.current()
    assert provider.exists()
    provider.load_image("docker2k8s/inference:0.1.0")
    assert (home / "kind-loaded").read_text().split() == ["docker2k8s/inference:0.1.0"]


# Docker's CLI as far as kind's `up` uses it on existing nodes: a node container runs while
# HOME/running-NAME exists.
FAKE_DOCKER = """case "$1" in
  inspect) [ -e "$HOME/running-$4" ] && echo true || echo false ;;
  start) : > "$HOME/running-$2"; echo "$2" ;;
  exec|cp) ;;
  *) echo "not in this test: docker $*" >&2; exit 1 ;;
esac"""


def test_kind_up_starts_stopped_node_containers(home: Path, monkeypatch) -> None:
    """After a reboot kind's node containers exist but are stopped: `up` starts them."""
    fakes = {"kind": FAKE_KIND, "kubectl": "exit 0", "docker": FAKE_DOCKER}
    monkeypatch.setenv("PATH", _bin(home / "bin", fakes))
    (home / "kind-cluster").touch()
    (home / "kind-nodes").write_text("docker2k8s-control-plane\n")
    kubeconfig.write(home / "kind-kubeconfig", _entry("kind-docker2k8s", "kind-docker2k8s"))
    said = io.StringIO()
    KindProvider().up(Console(file=said))
    assert (home / "running-docker2k8s-control-plane").exists()
    assert "starting the stopped node container docker2k8s-control-plane" in said.getvalue()
    KindProvider().up(Console(file=(again := io.StringIO())))
    assert "starting" not in again.getvalue()  # a running node is left alone
