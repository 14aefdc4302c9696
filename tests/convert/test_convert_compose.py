"""Compose files -> manifests: the fixtures under fixtures/ (golden files reviewed by hand)
and a table of small inline files, every output checked against the pinned release's schemas."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from convert_checks import (
    FIXTURES,
    check_golden,
    check_objects,
    container,
    course_stack,
    get,
    pod_spec,
    workload,
)

from docker2k8s.convert import ConvertError, Options, Outcome, Result, convert_compose
from docker2k8s.convert.manifests import wait_script

Objects = list[dict[str, Any]]


def _fields(result: Result, outcome: Outcome) -> list[str]:
    return [e.field for e in result.report.of(outcome)]


def test_llm_stack() -> None:
    """nginx + FastAPI web + TGI on 8 GPUs + mysql 5.7, the course's running example."""
    result = convert_compose(FIXTURES / "llm-stack" / "compose.yaml", environ={})
    objects = result.objects
    check_objects(objects)
    check_golden("compose-llm-stack", result)

    tgi = container(objects, "tgi")
    assert tgi["resources"]["limits"] == {"nvidia.com/gpu": "8"}
    assert tgi["args"][:2] == ["--model-id", "mistralai/Mistral-7B-Instruct-v0.2"]
    volumes = {v["name"]: v for v in pod_spec(workload(objects, "tgi"))["volumes"]}
    mounts = {m["mountPath"]: m["name"] for m in tgi["volumeMounts"]}
    assert volumes[mounts["/dev/shm"]]["emptyDir"] == {"medium": "Memory", "sizeLimit": "1Gi"}
    assert volumes[mounts["/data"]]["persistentVolumeClaim"]["claimName"] == "models-data"
    pvc = get(objects, "PersistentVolumeClaim", "models-data")
    assert pvc["spec"]["resources"]["requests"]["storage"] == "100Gi"  # docker2k8s.size label
    assert tgi["startupProbe"]["httpGet"] == {"path": "/health", "port": 80}

    db = workload(objects, "db")
    assert db["kind"] == "StatefulSet" and db["spec"]["serviceName"] == "db"
    assert db["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "db-data"
    env = {e["name"]: e for e in container(objects, "db")["env"]}
    assert env["MYSQL_ROOT_PASSWORD"]["valueFrom"]["secretKeyRef"]["name"] == "db-env"
    assert get(objects, "Secret", "db-env")["stringData"]["MYSQL_ROOT_PASSWORD"] == "example"
    assert get(objects, "Service", "db")["spec"]["ports"][0]["port"] == 3306

    web = pod_spec(workload(objects, "web"))
    waits = [c["command"][-1] for c in web["initContainers"]]
    assert waits == [wait_script("db", 3306), wait_script("tgi", 80)]
    assert web["containers"][0]["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8000}
    nginx = container(objects, "nginx")
    assert nginx["volumeMounts"][0]["subPath"] == "nginx.conf"
    assert not result.report.of(Outcome.UNCONVERTED)


def test_llm_stack_environment_wins(tmp_path: Path) -> None:
    """The process environment overrides the defaults in the file."""
    env = {"MODEL_ID": "TinyLlama/TinyLlama-1.1B-Chat-v1.0", "MYSQL_ROOT_PASSWORD": "s3cret"}
    result = convert_compose(FIXTURES / "llm-stack" / "compose.yaml", environ=env)
    assert container(result.objects, "tgi")["args"][1] == "TinyLlama/TinyLlama-1.1B-Chat-v1.0"
    assert get(result.objects, "Secret", "db-env")["stringData"]["MYSQL_ROOT_PASSWORD"] == "s3cret"


def test_features() -> None:
    """Long syntaxes, env files, secrets, configs, placement, security, x- extensions."""
    result = convert_compose(FIXTURES / "features" / "compose.yaml", environ={"USER": "ml"})
    objects = result.objects
    check_objects(objects)
    check_golden("compose-features", result)
    api = container(objects, "api")
    env = {e["name"]: e.get("value") for e in api["env"]}
    assert env == {
        "TZ": "UTC",  # from the x-common-env anchor
        "GREETING": "hello $USER",  # $$ is a literal $
        "EMPTY_DEFAULT": "fallback",  # ${UNSET_VAR-fallback}
        "FROM_DOTENV": "from-dotenv",  # the .env file next to the compose file
    }
    assert api["command"] == ["/bin/api"]
    assert (
        get(objects, "ConfigMap", "api-env-file")["data"]["QUOTED"] == "two words # not a comment"
    )
    assert get(objects, "Secret", "api-env-file-secret")["stringData"] == {"API_SECRET": "s3cr3t"}
    assert get(objects, "Secret", "api-key")["data"] == {"api_key": "ZG90ZW52LWFwaS1rZXk="}
    deploy = workload(objects, "api")
    assert deploy["spec"]["replicas"] == 3
    assert deploy["metadata"]["labels"]["tier"] == "backend"
    spec = pod_spec(deploy)
    assert spec["nodeSelector"] == {"gpu": "true"}
    assert api["resources"] == {
        "limits": {"cpu": "1500m", "memory": "2Gi"},
        "requests": {"cpu": "250m", "memory": "512Mi"},
    }
    assert api["readinessProbe"]["httpGet"] == {"path": "/healthz", "port": 9000}
    assert api["readinessProbe"]["periodSeconds"] == 90
    ports = get(objects, "Service", "api")["spec"]["ports"]
    assert [(p["name"], p["port"], p["protocol"]) for p in ports] == [
        ("http", 9000, "TCP"), ("tcp-9443", 9443, "TCP"), ("udp-53", 53, "UDP"),
        ("tcp-9100", 9100, "TCP"),
    ]  # fmt: skip
    worker = container(objects, "worker")
    assert worker["resources"]["limits"]["nvidia.com/gpu"] == "2"
    assert get(objects, "PersistentVolumeClaim", "cache")["spec"]["resources"]["requests"] == {
        "storage": "5Gi"
    }
    unconverted = _fields(result, Outcome.UNCONVERTED)
    assert "ulimits: {nofile: {soft: 20000, hard: 40000}}" in unconverted
    assert "depends_on: migrate (service_completed_successfully)" in unconverted
    assert "deploy.resources.limits.pids: 200" in unconverted
    assert not any("x-" in e.field for e in result.report.entries), "x- keys must stay silent"


def test_profiles() -> None:
    path = FIXTURES / "profiles" / "compose.yaml"
    plain = convert_compose(path, environ={})
    check_objects(plain.objects)
    assert {o["metadata"]["name"] for o in plain.objects} == {"app"}
    assert "depends_on: debug-ui (service_started)" in _fields(plain, Outcome.WARNING)
    check_golden("compose-profiles", plain)

    debug = convert_compose(path, profiles=["debug"], environ={})
    check_objects(debug.objects)
    assert (
        pod_spec(workload(debug.objects, "app"))["initContainers"][0]["name"] == "wait-for-debug-ui"
    )

    gpu = convert_compose(path, environ={"COMPOSE_PROFILES": "gpu"}, options=Options(all_gpus=4))
    check_objects(gpu.objects)
    trainer = workload(gpu.objects, "gpu-trainer")  # underscore is not allowed in a name
    assert trainer["spec"]["template"]["spec"]["containers"][0]["resources"]["limits"] == {
        "nvidia.com/gpu": "4"
    }
    assert "service name" in _fields(gpu, Outcome.WARNING)


Check = Callable[[Result], None]


def _statefulset_asked(result: Result) -> None:
    sts = workload(result.objects, "cache")
    assert sts["kind"] == "StatefulSet"
    assert get(result.objects, "Service", "cache")["spec"]["clusterIP"] == "None"


def _external_volume(result: Result) -> None:
    spec = pod_spec(workload(result.objects))
    assert spec["volumes"][0]["persistentVolumeClaim"]["claimName"] == "shared-models"
    assert not [o for o in result.objects if o["kind"] == "PersistentVolumeClaim"]


def _build_only(result: Result) -> None:
    c = container(result.objects)
    assert c["image"] == "demo-trainer" and c["imagePullPolicy"] == "IfNotPresent"


def _healthcheck_variants(result: Result) -> None:
    c = container(result.objects)
    assert c["readinessProbe"]["exec"]["command"] == [
        "/bin/sh", "-c", "curl -X POST http://localhost:8000/ready",
    ]  # fmt: skip
    assert "livenessProbe" in c


def _healthcheck_disabled(result: Result) -> None:
    assert "readinessProbe" not in container(result.objects)


def _gpu_all(result: Result) -> None:
    assert container(result.objects)["resources"]["limits"]["nvidia.com/gpu"] == "2"
    label = "deploy.resources.reservations.devices[0]: {driver: nvidia, count: all, capabilities: "
    assert label + "[gpu]}" in _fields(result, Outcome.WARNING)


def _non_nvidia(result: Result) -> None:
    assert "resources" not in container(result.objects)
    assert len(result.report.of(Outcome.UNCONVERTED)) == 1


def _nodeport(result: Result) -> None:
    svc = get(result.objects, "Service", "web")
    assert svc["spec"]["type"] == "NodePort"
    assert svc["spec"]["ports"][0] == {
        "name": "tcp-80", "port": 80, "targetPort": 80, "protocol": "TCP", "nodePort": 30080,
    }  # fmt: skip


def _no_port_dependency(result: Result) -> None:
    assert "initContainers" not in pod_spec(workload(result.objects, "app"))
    assert "depends_on: worker (service_started)" in _fields(result, Outcome.WARNING)


def _unknown_keys(result: Result) -> None:
    warned = _fields(result, Outcome.WARNING)
    assert {"verison", "port", "deploy.replica"} <= set(warned)
    assert not any(f.startswith("x-") for f in warned)


def _network_mode_service(result: Result) -> None:
    assert "network_mode: service:vpn" in _fields(result, Outcome.UNCONVERTED)


def _command_dollar(result: Result) -> None:
    assert container(result.objects)["args"] == ["echo", "$$(date)", "$HOME"]


def _include(result: Result) -> None:
    assert "include" in _fields(result, Outcome.UNCONVERTED)


def _port_inference(result: Result) -> None:
    ports = {
        o["metadata"]["name"]: [p["port"] for p in o["spec"]["ports"]]
        for o in result.objects
        if o["kind"] == "Service"
    }
    assert ports == {"api": [8000], "cache": [6379], "store": [3306], "model": [80]}
    assert workload(result.objects, "store")["kind"] == "StatefulSet"  # MYSQL_ variables
    store = container(result.objects, "store")
    assert store["readinessProbe"]["tcpSocket"] == {"port": 3306}
    api = container(result.objects, "api")
    assert api["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": 8000}
    env = {e["name"] for e in api["env"] if "value" in e}
    assert env == {"TOKEN_DELAY_MS", "MAX_NEW_TOKENS", "DB_PASSWORD_FILE", "MODEL_URL"}


PORT_INFERENCE = """
services:
  api:
    image: example/api:1
    environment:
      TOKEN_DELAY_MS: "20"
      MAX_NEW_TOKENS: "60"
      DB_PASSWORD_FILE: /run/secrets/db_password
      MODEL_URL: http://model
    command: ["--cache", "cache:6379"]
    healthcheck:
      test:
        - CMD
        - python3
        - -c
        - import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=3)
  cache:
    image: example/cache:1
  store:
    image: example/store:1
    environment:
      MYSQL_DATABASE: app
    volumes: [store-data:/var/lib/mysql]
    healthcheck:
      test: ["CMD", "bash", "-c", "exec 3<>/dev/tcp/127.0.0.1/3306"]
  model:
    image: example/model:1
  web:
    image: example/web:1
    environment:
      API: http://api:8000/v1
volumes:
  store-data: {}
"""

INLINE: list[tuple[str, str, Options, Check]] = [
    ("port-inference", PORT_INFERENCE, Options(), _port_inference),
    (
        "statefulset-asked",
        "services:\n  cache:\n    image: example/cache:1\n    expose: ['7000']\n",
        Options(statefulsets={"cache"}),
        _statefulset_asked,
    ),
    (
        "external-volume",
        "services:\n  s:\n    image: example/s:1\n    volumes: [models:/models:ro]\n"
        "volumes:\n  models:\n    external: true\n    name: shared-models\n",
        Options(),
        _external_volume,
    ),
    (
        "build-only",
        "name: demo\nservices:\n  trainer:\n    build: .\n",
        Options(),
        _build_only,
    ),
    (
        "healthcheck-post",
        "services:\n  s:\n    image: example/s:1\n    healthcheck:\n"
        "      test: curl -X POST http://localhost:8000/ready\n",
        Options(),
        _healthcheck_variants,
    ),
    (
        "healthcheck-none",
        "services:\n  s:\n    image: example/s:1\n    healthcheck:\n      test: [NONE]\n",
        Options(),
        _healthcheck_disabled,
    ),
    (
        "gpu-all",
        "services:\n  s:\n    image: example/s:1\n    deploy:\n      resources:\n"
        "        reservations:\n          devices:\n"
        "            - {driver: nvidia, count: all, capabilities: [gpu]}\n",
        Options(all_gpus=2),
        _gpu_all,
    ),
    (
        "non-nvidia",
        "services:\n  s:\n    image: example/s:1\n    deploy:\n      resources:\n"
        "        reservations:\n          devices:\n"
        "            - {driver: amdgpu, count: 1, capabilities: [gpu]}\n",
        Options(),
        _non_nvidia,
    ),
    (
        "nodeport",
        "services:\n  web:\n    image: nginx:1.25\n    ports: ['30080:80']\n",
        Options(service_type="NodePort"),
        _nodeport,
    ),
    (
        "no-port-dependency",
        "services:\n  app:\n    image: example/app:1\n    depends_on: [worker]\n"
        "  worker:\n    image: example/worker:1\n",
        Options(),
        _no_port_dependency,
    ),
    (
        "unknown-keys",
        (FIXTURES / "unknown-keys" / "compose.yaml").read_text(),
        Options(),
        _unknown_keys,
    ),
    (
        "network-mode-service",
        "services:\n  app:\n    image: example/app:1\n    network_mode: service:vpn\n",
        Options(),
        _network_mode_service,
    ),
    (
        "command-dollar",
        "services:\n  s:\n    image: busybox:1.36\n    command: echo $$(date) $$HOME\n",
        Options(),
        _command_dollar,
    ),
    (
        "include",
        "include: [other.yaml]\nservices:\n  s:\n    image: busybox:1.36\n",
        Options(),
        _include,
    ),
]


@pytest.mark.parametrize(("name", "text", "options", "check"), INLINE, ids=[c[0] for c in INLINE])
def test_inline(name: str, text: str, options: Options, check: Check, tmp_path: Path) -> None:
    (tmp_path / "project").mkdir()  # the directory names the project, as in Compose
    path = tmp_path / "project" / "compose.yaml"
    path.write_text(text)
    result = convert_compose(path, options, environ={})
    check_objects(result.objects, external=frozenset({"shared-models"}))
    check(result)
    check_golden(f"compose-{name}", result, {str(tmp_path / "project"): "<project>"})


ERRORS = [
    ("bad-yaml", None, "compose.yaml:6:6: invalid YAML"),
    ("required-var", None, "required variable NGINX_TAG is unset or empty: set NGINX_TAG to"),
    ("no-services", "version: '3'\n", "no services"),
    ("no-image", "services:\n  s:\n    command: x\n", "neither `image` nor `build`"),
    (
        "undeclared-volume",
        "services:\n  s:\n    image: a\n    volumes: [data:/data]\n",
        "uses volume 'data', which is not declared",
    ),
    (
        "undefined-dependency",
        "services:\n  s:\n    image: a\n    depends_on: [ghost]\n",
        "depends on undefined service 'ghost'",
    ),
    (
        "bad-port",
        "services:\n  s:\n    image: a\n    ports: ['80:http']\n",
        "services.s.ports[0]: '80:http' is not a port mapping",
    ),
    (
        "bad-size",
        "services:\n  s:\n    image: a\n    shm_size: lots\n",
        "s.shm_size: 'lots' is not a size",
    ),
    (
        "bad-condition",
        "services:\n  s:\n    image: a\n    depends_on:\n      t:\n"
        "        condition: service_ready\n  t:\n    image: b\n",
        "'service_ready' is not one of",
    ),
    (
        "name-clash",
        "services:\n  my_app:\n    image: a\n  my-app:\n    image: b\n",
        "both become the Kubernetes name 'my-app'",
    ),
    (
        "bad-interpolation",
        "services:\n  s:\n    image: 'a:${TAG:0:3}'\n",
        "invalid interpolation format ${TAG:0:3}",
    ),
    (
        "missing-secret-file",
        "services:\n  s:\n    image: a\n    secrets: [pw]\nsecrets:\n  pw:\n    file: ./nope.txt\n",
        "secrets.pw.file: cannot read",
    ),
    (
        "undeclared-secret",
        "services:\n  s:\n    image: a\n    secrets: [pw]\n",
        "uses secret 'pw', which is not declared",
    ),
    (
        "missing-env-file",
        "services:\n  s:\n    image: a\n    env_file: ./nope.env\n",
        "env_file ./nope.env not found",
    ),
    ("not-a-mapping", "- just\n- a list\n", "a compose file is a mapping"),
]


@pytest.mark.parametrize(("name", "text", "message"), ERRORS, ids=[e[0] for e in ERRORS])
def test_errors(name: str, text: str | None, message: str, tmp_path: Path) -> None:
    path = FIXTURES / name / "compose.yaml" if text is None else tmp_path / "compose.yaml"
    if text is not None:
        path.write_text(text)
    with pytest.raises(ConvertError) as err:
        convert_compose(path, environ={})
    assert message in str(err.value)


def test_unknown_statefulset_name() -> None:
    with pytest.raises(ConvertError, match="--statefulset nope: no such service"):
        convert_compose(
            FIXTURES / "llm-stack" / "compose.yaml", Options(statefulsets={"nope"}), environ={}
        )


def test_the_course_compose_file(tmp_path: Path) -> None:
    """apps/compose.yaml, the running example, converts completely: every service that others
    call gets a Service, the database a StatefulSet, and nothing is left unconverted."""
    result = convert_compose(course_stack(tmp_path, "compose.yaml")[0], environ={})
    check_objects(result.objects)
    assert not result.report.of(Outcome.UNCONVERTED), result.report.of(Outcome.UNCONVERTED)
    services = {o["metadata"]["name"] for o in result.objects if o["kind"] == "Service"}
    workloads = {o["metadata"]["name"]: o["kind"] for o in result.objects if o["kind"] in (
        "Deployment", "StatefulSet")}  # fmt: skip
    assert services == set(workloads), "every service needs a Service for the others to call"
    assert workloads.get("db") == "StatefulSet"
    for obj in result.objects:
        if obj["kind"] in ("Deployment", "StatefulSet"):
            for wait in pod_spec(obj).get("initContainers", []):
                host = wait["name"].removeprefix("wait-for-")
                assert host in services, f"{wait['name']} waits for a Service that is not there"


WRONG_SHAPES = {
    "deploy": "{replicas: many}",
    "scale": "lots",
    "tmpfs": "5",
    "cpus": "[1]",
    "labels": "5",
    "environment": "5",
    "ports": "[[80]]",
    "volumes": "[5]",
    "healthcheck": "{test: 5}",
    "depends_on": "5",
    "extra_hosts": "5",
    "sysctls": "[[a]]",
    "secrets": "[{target: x}]",
    "gpus": "{count: 1}",
    "stop_grace_period": "soon",
    "mem_limit": "[1g]",
    "post_start": "echo hi",
    "dns_opt": "5",
    "cap_add": "5",
}


@pytest.mark.parametrize(("key", "value"), sorted(WRONG_SHAPES.items()))
def test_wrong_shapes_are_errors_not_tracebacks(key: str, value: str, tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text(f"services:\n  s:\n    image: a:1\n    {key}: {value}\n")
    with pytest.raises(ConvertError) as err:
        convert_compose(path, environ={})
    assert key in str(err.value) or "services.s" in str(err.value), str(err.value)


def test_port_names_stay_unique_when_a_generated_name_is_taken(tmp_path: Path) -> None:
    """Two ports named like the name the converter would generate for the second one."""
    path = tmp_path / "compose.yaml"
    path.write_text(
        "services:\n  s:\n    image: a:1\n    ports:\n"
        "      - {target: 80, name: p1-80}\n      - {target: 80, protocol: udp, name: p1-80}\n"
    )
    result = convert_compose(path, environ={})
    check_objects(result.objects)
    names = [p["name"] for p in get(result.objects, "Service", "s")["spec"]["ports"]]
    assert names == ["p1-80", "p2-80"]
