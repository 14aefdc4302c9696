"""The running example's Kubernetes manifests (apps/k8s/) are what the chapters and labs promise.

Offline checks: schema-valid for the pinned Kubernetes release, images built locally and never
pulled, resource requests everywhere, Services that select Pods some workload really creates, and
every file shown in a chapter. Each check returns the problems it found, so the tests below also
feed it broken copies and make sure it complains.

The cheat sheet's Kubernetes objects are files too (docs/snippets/cheatsheet/), included into the
page: schema-valid, the course's own images, and nothing written inline instead.
"""

from __future__ import annotations

import copy
import re
import subprocess
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import kubernetes_validate
import pytest
import schemas
import yaml

from docker2k8s.paths import REPO_ROOT

K8S_DIR = REPO_ROOT / "apps" / "k8s"
# Folders of apps/k8s whose manifests follow the same rules as the running app's: lab 09's GPU
# scheduling, lab 10's Jobs, lab 11's health, resources and autoscaling (on CPU, on the queue),
# lab 12's ways in and model versions.
K8S_SUBDIRS = ("gpu", "jobs", "health", "autoscaling", "exposing", "serving")
# Files written before the chapter section that shows them (none now): a file may wait here
# until its section is written, and then leaves this list (the test says so).
AWAITING_A_CHAPTER: set[str] = set()
CHAPTERS = REPO_ROOT / "docs" / "chapters"
CHEATSHEET = REPO_ROOT / "docs" / "cheatsheet.md"
CHEATSHEET_DIR = REPO_ROOT / "docs" / "snippets" / "cheatsheet"
# Kinds of add-ons (custom resources) the pinned schemas do not know: the cheat sheet shows them
# for clusters that install the add-on, and lab 12 writes the Gateway API's. The API server of
# the workshop cluster checks them against the add-ons' CRDs (the last test).
ADDON_KINDS = {
    ("serving.kserve.io/v1beta1", "InferenceService"),
    ("serving.kserve.io/v1alpha1", "ServingRuntime"),
    ("kueue.x-k8s.io/v1beta2", "LocalQueue"),
    ("gateway.networking.k8s.io/v1", "Gateway"),
    ("gateway.networking.k8s.io/v1", "HTTPRoute"),
    ("gateway.networking.k8s.io/v1", "ReferenceGrant"),
}
# A fenced YAML block of a Markdown page, possibly indented (inside a content tab).
YAML_FENCE = re.compile(
    r"^(?P<indent> *)```ya?ml\b[^\n]*\n(?P<body>.*?)^(?P=indent)```", re.M | re.S
)
IMAGE_RE = re.compile(r"^docker2k8s/(web|chat|inference|db):(\d+\.\d+\.\d+)$")
WORKLOAD_KINDS = {"Deployment", "StatefulSet", "DaemonSet", "Job", "ReplicaSet", "CronJob"}

Manifest = dict[str, Any]


def manifest_files() -> list[Path]:
    return sorted(K8S_DIR.glob("*.yaml")) + [
        path for folder in K8S_SUBDIRS for path in sorted((K8S_DIR / folder).glob("*.yaml"))
    ]


def manifest_name(path: Path) -> str:
    """The file's path under apps/k8s: `inference-pod.yaml`, `jobs/train-job.yaml`."""
    return path.relative_to(K8S_DIR).as_posix()


def cheatsheet_files() -> list[Path]:
    return sorted(CHEATSHEET_DIR.glob("*.yaml"))


def load(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]


def all_objects() -> list[Manifest]:
    return [obj for path in manifest_files() for obj in load(path)]


def pod_spec(obj: Manifest) -> Manifest | None:
    if obj["kind"] == "Pod":
        return obj["spec"]
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    if obj["kind"] in WORKLOAD_KINDS:
        return obj["spec"]["template"]["spec"]
    return None


def pod_labels(obj: Manifest) -> dict[str, str]:
    if obj["kind"] == "Pod":
        return obj["metadata"].get("labels", {})
    if obj["kind"] == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["metadata"].get("labels", {})
    return obj["spec"]["template"]["metadata"].get("labels", {})


def object_name(obj: Manifest) -> str:
    """metadata.name, or the generateName prefix of an object made with `kubectl create`."""
    return obj["metadata"].get("name") or obj["metadata"]["generateName"]


def containers(spec: Manifest) -> Iterator[Manifest]:
    yield from spec.get("initContainers", [])
    yield from spec.get("containers", [])


# ---- checks: each returns a list of problems ------------------------------------------------


def schema_problems(obj: Manifest) -> list[str]:
    if (obj.get("apiVersion"), obj.get("kind")) in ADDON_KINDS:  # no schema: a name at least
        return [] if obj.get("metadata", {}).get("name") else [f"{obj['kind']}: no metadata.name"]
    try:
        schemas.validate(obj)
    except kubernetes_validate.ValidationError as error:
        return [f"{obj.get('kind')}/{obj.get('metadata', {}).get('name')}: {error.message}"]
    return []


def image_name_problems(obj: Manifest) -> list[str]:
    spec = pod_spec(obj)
    return [
        f"{c['name']}: image {c.get('image', '')!r} is not docker2k8s/NAME:X.Y.Z"
        for c in (containers(spec) if spec else [])
        if not IMAGE_RE.match(c.get("image", ""))
    ]


def image_problems(obj: Manifest) -> list[str]:
    spec = pod_spec(obj)
    problems = image_name_problems(obj)
    for c in containers(spec) if spec else []:
        policy = c.get("imagePullPolicy")
        if policy not in ("IfNotPresent", "Never"):
            problems.append(
                f"{c['name']}: imagePullPolicy {policy!r}; no registry exists, use IfNotPresent"
            )
    return problems


def request_problems(obj: Manifest) -> list[str]:
    spec = pod_spec(obj)
    problems = []
    for c in containers(spec) if spec else []:
        requests = c.get("resources", {}).get("requests", {})
        problems += [f"{c['name']}: no {r} request" for r in ("cpu", "memory") if r not in requests]
    return problems


def gpu_problems(obj: Manifest) -> list[str]:
    """The inference server always asks for GPUs: whole ones, in limits."""
    spec = pod_spec(obj)
    problems = []
    for c in containers(spec) if spec else []:
        if c["name"] == "inference":
            gpus = c.get("resources", {}).get("limits", {}).get("nvidia.com/gpu")
            if not isinstance(gpus, int) or gpus < 1:
                problems.append(f"inference: limits nvidia.com/gpu is {gpus!r}, not a count")
    return problems


def shm_problems(obj: Manifest) -> list[str]:
    spec = pod_spec(obj)
    if not spec:
        return []
    volumes = {v["name"]: v for v in spec.get("volumes", [])}
    problems = []
    for c in containers(spec):
        for mount in c.get("volumeMounts", []):
            if mount["mountPath"] != "/dev/shm":
                continue
            empty_dir = volumes.get(mount["name"], {}).get("emptyDir")
            if not empty_dir or empty_dir.get("medium") != "Memory" or "sizeLimit" not in empty_dir:
                problems.append(f"{c['name']}: /dev/shm is not an emptyDir {{medium: Memory}}")
    return problems


def selector_problems(obj: Manifest) -> list[str]:
    """A workload's selector must match its own Pod template, or the API server rejects it.
    (A Job or CronJob names none: the Job controller makes a selector of its own.)"""
    if obj["kind"] not in WORKLOAD_KINDS or "selector" not in obj["spec"]:
        return []
    wanted = obj["spec"]["selector"]["matchLabels"]
    labels = pod_labels(obj)
    if not wanted.items() <= labels.items():
        return [f"{obj['metadata']['name']}: selector {wanted} does not match labels {labels}"]
    return []


def service_problems(service: Manifest, objects: list[Manifest]) -> list[str]:
    """Every Service selects Pods some workload creates, on a port those Pods name or expose."""
    selector = service["spec"].get("selector", {})
    name = service["metadata"]["name"]
    if not selector:
        return [f"service {name} has no selector"]
    backends = [
        o for o in objects if pod_spec(o) is not None and selector.items() <= pod_labels(o).items()
    ]
    if not backends:
        return [f"service {name} selects {selector}, but no Pod or workload sets those labels"]
    problems = []
    for port in service["spec"]["ports"]:
        target = port.get("targetPort", port["port"])
        for backend in backends:
            ports = [p for c in containers(pod_spec(backend)) for p in c.get("ports", [])]
            names = {p.get("name") for p in ports}
            numbers = {p["containerPort"] for p in ports}
            if target not in names | numbers:
                problems.append(
                    f"service {name}: targetPort {target!r} is not a port of "
                    f"{backend['kind']}/{backend['metadata']['name']}"
                )
    return problems


def reference_problems(obj: Manifest, objects: list[Manifest]) -> list[str]:
    """ConfigMaps, Secrets and claims a Pod uses are manifests here too (Secrets as templates)."""
    spec = pod_spec(obj)
    if not spec:
        return []
    have = {(o["kind"], object_name(o)) for o in objects}
    for o in objects:
        if o["kind"] == "StatefulSet":
            have |= {
                ("PersistentVolumeClaim", t["metadata"]["name"])
                for t in o["spec"].get("volumeClaimTemplates", [])
            }
    wanted = set()
    for volume in spec.get("volumes", []):
        if "secret" in volume:
            wanted.add(("Secret", volume["secret"]["secretName"]))
        if "configMap" in volume:
            wanted.add(("ConfigMap", volume["configMap"]["name"]))
        if "persistentVolumeClaim" in volume:
            wanted.add(("PersistentVolumeClaim", volume["persistentVolumeClaim"]["claimName"]))
    for c in containers(spec):
        for source in c.get("envFrom", []):
            if "configMapRef" in source:
                wanted.add(("ConfigMap", source["configMapRef"]["name"]))
            if "secretRef" in source:
                wanted.add(("Secret", source["secretRef"]["name"]))
    return [
        f"{object_name(obj)} uses {k} {n}, which no manifest defines"
        for k, n in sorted(wanted - have)
    ]


POD_CHECKS = (
    schema_problems,
    image_problems,
    request_problems,
    gpu_problems,
    shm_problems,
    selector_problems,
)


def cheatsheet_schema_problems(obj: Manifest) -> list[str]:
    """Built-in kinds against the pinned schemas; an add-on's kind needs at least a name."""
    if (obj.get("apiVersion"), obj.get("kind")) in ADDON_KINDS:
        return [] if obj.get("metadata", {}).get("name") else [f"{obj['kind']}: no metadata.name"]
    try:
        return schema_problems(obj)
    except kubernetes_validate.SchemaNotFoundError:
        return [f"{obj.get('apiVersion')} {obj.get('kind')}: no schema, and not in ADDON_KINDS"]


# Examples, not the running app: no requests or GPU rules, but real images (a tag other than
# latest makes the default imagePullPolicy IfNotPresent) and objects the API server accepts.
CHEATSHEET_CHECKS = (
    cheatsheet_schema_problems,
    image_name_problems,
    shm_problems,
    selector_problems,
)


def inline_manifests(markdown: str) -> list[str]:
    """Kubernetes objects written into a page instead of included from a file."""
    return [
        m["body"]
        for m in YAML_FENCE.finditer(markdown)
        if re.search(r"^\s*apiVersion:", m["body"], re.M)
    ]


# ---- the real manifests ---------------------------------------------------------------------


def test_the_manifests_exist() -> None:
    names = {p.name for p in manifest_files()}
    for expected in (
        "inference-pod.yaml",
        "inference-deployment.yaml",
        "inference-service.yaml",
        "web-service.yaml",
        "model-cache-pvc.yaml",
        "chat-config.yaml",
        "db-credentials.example.yaml",
        "db-statefulset.yaml",
    ):
        assert expected in names, f"apps/k8s/{expected} is missing"


@pytest.mark.parametrize("path", manifest_files(), ids=manifest_name)
def test_manifest_is_valid_and_follows_the_workshop_rules(path: Path) -> None:
    objects = load(path)
    name = manifest_name(path)
    assert objects, f"{name} holds no object"
    problems = [f"{name}: {p}" for obj in objects for check in POD_CHECKS for p in check(obj)]
    assert not problems, "\n".join(problems)


def test_services_select_pods_that_a_manifest_creates() -> None:
    objects = all_objects()
    services = [o for o in objects if o["kind"] == "Service"]
    assert {s["metadata"]["name"] for s in services} >= {"inference", "chat", "db", "web"}
    problems = [p for s in services for p in service_problems(s, objects)]
    assert not problems, "\n".join(problems)
    types = {s["metadata"]["name"]: s["spec"].get("type", "ClusterIP") for s in services}
    assert types["web"] == "NodePort" and types["inference"] == types["chat"] == "ClusterIP"


def test_pods_only_use_objects_the_workshop_defines() -> None:
    objects = all_objects()
    problems = [p for o in objects for p in reference_problems(o, objects)]
    assert not problems, "\n".join(problems)


def test_the_secret_is_a_template_without_a_password() -> None:
    secrets = [o for o in all_objects() if o["kind"] == "Secret"]
    assert secrets, "no Secret template in apps/k8s"
    for secret in secrets:
        values = {**secret.get("stringData", {}), **secret.get("data", {})}
        assert values and set(values.values()) == {"REPLACE-ME"}, (
            f"Secret {secret['metadata']['name']} holds values other than REPLACE-ME: "
            "create real Secrets with kubectl create secret generic, never commit them"
        )


def test_every_file_says_which_lab_uses_it() -> None:
    for path in manifest_files():
        header = path.read_text().split("\napiVersion:")[0]
        assert re.search(r"^# Lab \d\d", header, re.M), (
            f"{manifest_name(path)}: start with '# Lab NN: ...'"
        )


def test_every_manifest_is_shown_in_a_chapter() -> None:
    """The chapters include the real files (pymdownx.snippets), never copies."""
    text = "\n".join(p.read_text() for p in CHAPTERS.glob("*.md"))
    missing = {
        manifest_name(p)
        for p in manifest_files()
        if f'--8<-- "apps/k8s/{manifest_name(p)}"' not in text
    }
    assert missing <= AWAITING_A_CHAPTER, (
        f"not included in any docs/chapters page: {sorted(missing - AWAITING_A_CHAPTER)}"
    )
    shown = AWAITING_A_CHAPTER - missing
    assert not shown, f"included in a chapter now: remove {sorted(shown)} from AWAITING_A_CHAPTER"


# ---- the cheat sheet's objects ---------------------------------------------------------------


@pytest.mark.parametrize("path", cheatsheet_files(), ids=lambda p: p.name)
def test_cheatsheet_object_is_valid_and_uses_the_course_images(path: Path) -> None:
    objects = load(path)
    assert objects, f"{path.name} holds no object"
    problems = [
        f"{path.name}: {p}" for obj in objects for check in CHEATSHEET_CHECKS for p in check(obj)
    ]
    assert not problems, "\n".join(problems)


def test_cheatsheet_objects_only_use_objects_the_workshop_defines() -> None:
    examples = [obj for path in cheatsheet_files() for obj in load(path)]
    objects = all_objects() + examples
    problems = [p for o in examples for p in reference_problems(o, objects)]
    assert not problems, "\n".join(problems)


def test_cheatsheet_includes_every_file_and_writes_no_object_inline() -> None:
    text = CHEATSHEET.read_text()
    files = cheatsheet_files()
    assert len(files) >= 10, f"the cheat sheet's objects are missing from {CHEATSHEET_DIR}"
    missing = [p.name for p in files if f'--8<-- "docs/snippets/cheatsheet/{p.name}"' not in text]
    assert not missing, f"not included in docs/cheatsheet.md: {missing}"
    inline = inline_manifests(text)
    assert not inline, "write these as files in docs/snippets/cheatsheet/:\n" + "\n".join(inline)


# ---- the checks catch broken manifests ------------------------------------------------------


def first(kind: str, name: str) -> Manifest:
    for obj in all_objects():
        if obj["kind"] == kind and object_name(obj) == name:
            return copy.deepcopy(obj)
    raise AssertionError(f"no {kind}/{name} in apps/k8s")


def test_checks_reject_broken_manifests() -> None:
    deployment = first("Deployment", "inference")
    container = deployment["spec"]["template"]["spec"]["containers"][0]

    typo = copy.deepcopy(deployment)
    typo["spec"]["template"]["spec"]["containers"][0]["imagePullPolcy"] = "IfNotPresent"
    assert schema_problems(typo), "strict schema validation missed an unknown field"

    container["image"] = "docker2k8s/inference:latest"
    container["imagePullPolicy"] = "Always"
    del container["resources"]["requests"]["cpu"]
    container["resources"]["limits"]["nvidia.com/gpu"] = "0.5"
    deployment["spec"]["template"]["spec"]["volumes"][1] = {"name": "dshm", "emptyDir": {}}
    deployment["spec"]["selector"]["matchLabels"] = {"app": "inferense"}
    assert len(image_problems(deployment)) == 2
    assert request_problems(deployment) == ["inference: no cpu request"]
    assert gpu_problems(deployment) and shm_problems(deployment)
    assert selector_problems(deployment)

    objects = all_objects()
    service = first("Service", "inference")
    service["spec"]["selector"] = {"app": "inferense"}
    assert service_problems(service, objects)
    service = first("Service", "chat")
    service["spec"]["ports"][0]["targetPort"] = "grpc"
    assert service_problems(service, objects)

    chat = first("Deployment", "chat")
    chat["spec"]["template"]["spec"]["containers"][0]["envFrom"][0]["configMapRef"]["name"] = "x"
    assert reference_problems(chat, objects) == ["chat uses ConfigMap x, which no manifest defines"]


def test_cheatsheet_checks_reject_broken_examples() -> None:
    page = (
        "Text.\n\n"
        '=== "Kubernetes"\n\n    ```yaml\n    apiVersion: v1\n    kind: Pod\n    ```\n\n'
        "```yaml\nservices:\n  web: {}\n```\n\n"
        '```yaml title="x.yaml"\n--8<-- "docs/snippets/cheatsheet/x.yaml"\n```\n'
    )
    assert inline_manifests(page) == ["    apiVersion: v1\n    kind: Pod\n"]

    gpu = load(CHEATSHEET_DIR / "gpu.yaml")[0]
    gpu["spec"]["containers"][0]["image"] = "d2k/inference:v1"
    assert image_name_problems(gpu) == [
        "inference: image 'd2k/inference:v1' is not docker2k8s/NAME:X.Y.Z"
    ]
    gpu["spec"]["containers"][0]["imagePullPolcy"] = "IfNotPresent"
    assert cheatsheet_schema_problems(gpu)

    isvc = load(CHEATSHEET_DIR / "inferenceservice.yaml")[0]
    assert not cheatsheet_schema_problems(isvc)
    assert cheatsheet_schema_problems({**isvc, "metadata": {}})
    assert cheatsheet_schema_problems({**isvc, "apiVersion": "serving.example.com/v1"})


# ---- add-on kinds: checked by the API server of a cluster that runs the add-on ---------------

# Add-ons whose objects the chapters show for other clusters; the workshop cluster has none.
NOT_ON_THE_WORKSHOP_CLUSTER = {"serving.kserve.io"}


@pytest.fixture
def scratch_namespace(cluster) -> Iterator[str]:
    name = f"manifests-{uuid.uuid4().hex[:6]}"
    subprocess.run(["kubectl", "create", "namespace", name], check=True, capture_output=True)
    yield name
    subprocess.run(["kubectl", "delete", "namespace", name, "--wait=false"], capture_output=True)


@pytest.mark.cluster
def test_addon_objects_pass_the_api_server_with_the_addons_schemas(scratch_namespace) -> None:
    """The pinned schemas do not know the add-ons' kinds: a server-side dry run checks them
    against the add-on's CRD (and its webhooks), as `kubectl apply` will when a lab applies them."""
    served = set(
        subprocess.run(["kubectl", "api-versions"], capture_output=True, text=True).stdout.split()
    )
    problems, absent = [], set()
    for path in manifest_files() + cheatsheet_files():
        for obj in load(path):
            if (obj["apiVersion"], obj["kind"]) not in ADDON_KINDS:
                continue
            if obj["apiVersion"] not in served:
                absent.add(obj["apiVersion"].split("/")[0])
                continue
            placed = {**obj, "metadata": {**obj["metadata"], "namespace": scratch_namespace}}
            done = subprocess.run(
                ["kubectl", "apply", "--dry-run=server", "-f", "-"],
                input=yaml.safe_dump(placed),
                capture_output=True,
                text=True,
            )
            if done.returncode != 0:
                problems.append(f"{path.relative_to(REPO_ROOT)}: {done.stderr.strip()}")
    assert problems == []
    assert absent == NOT_ON_THE_WORKSHOP_CLUSTER, "an add-on is missing, or is installed now"
