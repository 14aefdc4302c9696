"""versions.toml is the one file of pins: the Go modules, manifests, docs and labs agree with it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from docker2k8s import versions
from docker2k8s.paths import REPO_ROOT, cluster_dir

# Module directory under cluster/go -> (the module it builds, its pin in versions.toml).
MODULES = {
    "kubernetes": ("k8s.io/kubernetes", "kubernetes"),
    "etcd": ("go.etcd.io/etcd/server/v3", "etcd"),
    "coredns": ("github.com/coredns/coredns", "coredns"),
    "metrics-server": ("sigs.k8s.io/metrics-server", "metrics-server"),
    "containerd": ("github.com/containerd/containerd/v2", "containerd"),
    "runc": ("github.com/opencontainers/runc", "runc"),
    "local-path-provisioner": (
        "github.com/rancher/local-path-provisioner",
        "local-path-provisioner",
    ),
    "compose": ("github.com/docker/compose/v2", "compose"),
    "kwok": ("sigs.k8s.io/kwok", "kwok"),
    "registry": ("github.com/distribution/distribution/v3", "registry"),
    "kind": ("sigs.k8s.io/kind", "kind"),
    "kompose": ("github.com/kubernetes/kompose", "kompose"),
    "kueue": ("sigs.k8s.io/kueue", "kueue"),
    "traefik": ("github.com/traefik/traefik/v3", "traefik"),
    "prometheus": ("github.com/prometheus/prometheus", "prometheus"),
    "prometheus-adapter": ("sigs.k8s.io/prometheus-adapter", "prometheus-adapter"),
}
# Kubernetes' staging modules our own programs may build on.
STAGING = {
    f"k8s.io/{name}"
    for name in ("api", "apimachinery", "client-go", "dynamic-resource-allocation", "kubelet")
}
# What a learner reads: chapters, labs (and their sources), the READMEs.
TEXTS = [
    *sorted((REPO_ROOT / "docs").rglob("*.md")),
    *sorted((REPO_ROOT / "labs").glob("*.ipynb")),
    *sorted((REPO_ROOT / "solutions").glob("*.ipynb")),
    REPO_ROOT / "README.md",
    *sorted((REPO_ROOT / "apps").rglob("README.md")),
]


def _required(go_mod: str) -> dict[str, str]:
    # Both forms: `require mod v1` and the lines of a `require ( ... )` block.
    return dict(re.findall(r"^\s*(?:require )?(\S+) (v\S+)(?: // indirect)?$", go_mod, re.M))


@pytest.mark.parametrize("directory", sorted(MODULES))
def test_each_go_module_builds_its_pinned_release(directory: str) -> None:
    module, pin = MODULES[directory]
    required = _required((cluster_dir() / "go" / directory / "go.mod").read_text())
    assert required.get(module) == versions.PINS[pin], (
        f"cluster/go/{directory}/go.mod requires {module} {required.get(module)}, "
        f"versions.toml pins {pin} = {versions.PINS[pin]}: `go get -tool {module}@"
        f"{versions.PINS[pin]} && go mod tidy` there, or change the pin"
    )


def test_every_go_module_has_a_pin() -> None:
    built = {d.name for d in (cluster_dir() / "go").iterdir() if (d / "go.mod").exists()}
    assert built == set(MODULES), f"modules without a pin: {built - set(MODULES)}"


def test_the_gateway_api_crds_are_the_release_traefik_builds_against() -> None:
    """Traefik's own go.mod selects the Gateway API module whose CRDs the add-on installs."""
    go_sum = (cluster_dir() / "go" / "traefik" / "go.sum").read_text()
    # The module's own line (not its /go.mod line): the version whose source is built.
    selected = re.findall(r"^sigs\.k8s\.io/gateway-api (v[^\s/]+) h1:", go_sum, re.M)
    assert selected == [versions.GATEWAY_API], (
        f"Traefik's build has sigs.k8s.io/gateway-api {selected}, versions.toml pins "
        f"gateway-api = {versions.GATEWAY_API}"
    )


def test_kubernetes_staging_modules_match_the_release() -> None:
    go_mod = (cluster_dir() / "go" / "kubernetes" / "go.mod").read_text()
    staging = re.findall(r"^\s*k8s\.io/(\S+) => k8s\.io/\S+ (v\S+)$", go_mod, re.M)
    assert len(staging) > 30, "the k8s.io/* staging modules are not pinned with replace"
    wanted = "v0." + versions.KUBERNETES.lstrip("v").split(".", 1)[1]
    wrong = [f"{name} {version}" for name, version in staging if version != wanted]
    assert not wrong, f"staging modules not at {wanted}: {wrong}"


def test_our_own_programs_use_the_clusters_client_libraries() -> None:
    """Programs of ours (cluster/images/*) build on k8s.io libraries of the pinned release."""
    wanted = "v0." + versions.KUBERNETES.lstrip("v").split(".", 1)[1]
    for go_mod in sorted((cluster_dir() / "images").glob("*/go.mod")):
        required = _required(go_mod.read_text())
        wrong = {m: v for m, v in required.items() if m in STAGING and v != wanted}
        assert not wrong, f"{go_mod}: {wrong}, pinned {wanted}"


def _kustomize() -> str:
    go_mod = (cluster_dir() / "go" / "kubernetes" / "go.mod").read_text()
    return _required(go_mod)["sigs.k8s.io/kustomize/kustomize/v5"]


def _found(pattern: str) -> list[tuple[str, str]]:
    hits = []
    for path in TEXTS:
        for match in re.finditer(pattern, path.read_text()):
            hits.append((str(path.relative_to(REPO_ROOT)), match.group(1)))
    return hits


@pytest.mark.parametrize(
    ("what", "pattern", "wanted"),
    [
        ("Kubernetes", r"\b(v1\.\d+\.\d+)\b", lambda: versions.KUBERNETES),
        ("Kustomize", r"Kustomize Version: (v\S+)", _kustomize),
        ("containerd", r"containerd://(\d+\.\d+\.\d+)", lambda: versions.CONTAINERD.lstrip("v")),
    ],
)
def test_docs_and_labs_name_the_pinned_versions(what: str, pattern: str, wanted) -> None:
    hits = _found(pattern)
    wrong = sorted({f"{where}: {found}" for where, found in hits if found != wanted()})
    assert not wrong, f"{what} versions other than the pinned {wanted()}: {wrong}"


def test_add_on_manifests_take_their_images_from_the_pins() -> None:
    literal = re.compile(r"image:\s+(?!\$\{)\S+")
    for manifest in (cluster_dir() / "addons").rglob("*.yaml"):
        if "examples" in manifest.parts:
            continue
        assert not literal.findall(manifest.read_text()), (
            f"{manifest} names an image literally: use a ${{placeholder}} "
            "(docker2k8s.cluster.addons.template_values)"
        )


def test_app_manifests_use_the_pinned_app_tag() -> None:
    tags = re.compile(r"image:\s+docker2k8s/[a-z-]+:(\S+)")
    for manifest in sorted((REPO_ROOT / "apps" / "k8s").glob("*.yaml")):
        for tag in tags.findall(manifest.read_text()):
            assert tag == versions.APPS, f"{manifest.name}: tag {tag}, pinned {versions.APPS}"


def test_the_pins_file_is_the_one_code_reads() -> None:
    assert versions.PINS_FILE == REPO_ROOT / "versions.toml"
    hardcoded = re.compile(r"""["']v1\.\d+\.\d+["']""")
    for source in Path(versions.__file__).parent.rglob("*.py"):
        assert not hardcoded.search(source.read_text()), f"{source} pins a Kubernetes version"
