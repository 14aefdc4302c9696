"""`docker run` commands -> manifests: one row per command, each output schema-checked,
compared with its reviewed golden file, and asserted on the fields the flags must produce."""

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from convert_checks import FIXTURES, check_golden, check_objects, container, get, pod_spec, workload

from docker2k8s.convert import ConvertError, Options, Outcome, convert_docker_run
from docker2k8s.convert.docker_run import parse, split_command

Objects = list[dict[str, Any]]
ENV = {"HOME": "/home/ml", "HF_TOKEN": "hf_example"}


def _limits(objects: Objects) -> dict[str, str]:
    return container(objects).get("resources", {}).get("limits", {})


def _mounts(objects: Objects) -> dict[str, dict[str, Any]]:
    return {m["mountPath"]: m for m in container(objects).get("volumeMounts", [])}


def _volume(objects: Objects, mount_path: str) -> dict[str, Any]:
    name = _mounts(objects)[mount_path]["name"]
    return next(v for v in pod_spec(workload(objects))["volumes"] if v["name"] == name)


def _tgi(objects: Objects) -> None:
    assert workload(objects)["kind"] == "Deployment"
    assert _limits(objects)["nvidia.com/gpu"] == "1"
    assert _volume(objects, "/dev/shm")["emptyDir"] == {"medium": "Memory", "sizeLimit": "1Gi"}
    assert _volume(objects, "/data")["persistentVolumeClaim"]["claimName"] == "models"
    assert get(objects, "PersistentVolumeClaim", "models")["spec"]["resources"] == {
        "requests": {"storage": "1Gi"}
    }
    service = get(objects, "Service", "text-generation-inference")
    assert service["spec"]["ports"][0]["port"] == 80
    assert container(objects)["args"] == ["--model-id", "HuggingFaceH4/zephyr-7b-beta"]


def _interactive(objects: Objects) -> None:
    pod = workload(objects)
    assert pod["kind"] == "Pod" and pod["spec"]["restartPolicy"] == "Never"
    c = container(objects)
    assert c["stdin"] is True and c["tty"] is True
    assert c["args"] == ["python", "train.py", "--epochs", "3"]
    assert c["workingDir"] == "/workspace"
    assert c["securityContext"] == {"runAsUser": 1000, "runAsGroup": 1000}


def _gpu_devices(objects: Objects) -> None:
    assert _limits(objects)["nvidia.com/gpu"] == "2"


def _gpu_count(objects: Objects) -> None:
    assert _limits(objects)["nvidia.com/gpu"] == "4"
    env = {e["name"]: e.get("value") for e in container(objects)["env"]}
    assert env["NVIDIA_DRIVER_CAPABILITIES"] == "compute,utility"


def _resources(objects: Objects) -> None:
    res = container(objects)["resources"]
    assert res == {"limits": {"cpu": "2500m", "memory": "8Gi"}, "requests": {"memory": "4Gi"}}


def _env(objects: Objects) -> None:
    env = {e["name"]: e for e in container(objects)["env"]}
    assert env["MODE"]["value"] == "fast"
    assert env["HOME_COPY"]["value"] == "/home/ml"  # the shell would have expanded $HOME
    assert env["HF_TOKEN"]["valueFrom"]["secretKeyRef"] == {"name": "app-env", "key": "HF_TOKEN"}
    assert get(objects, "Secret", "app-env")["stringData"] == {"HF_TOKEN": "hf_example"}
    assert "UNSET_IN_SHELL" not in env
    assert container(objects)["envFrom"] == [{"configMapRef": {"name": "app-env-file"}}]
    assert get(objects, "ConfigMap", "app-env-file")["data"] == {"BATCH": "32", "MODEL": "small"}


def _health(objects: Objects) -> None:
    c = container(objects)
    assert c["readinessProbe"]["httpGet"] == {"path": "/health", "port": 8080}
    assert c["livenessProbe"]["periodSeconds"] == 10
    assert c["livenessProbe"]["timeoutSeconds"] == 2
    assert c["livenessProbe"]["failureThreshold"] == 5
    assert c["startupProbe"]["failureThreshold"] == 12 + 5  # 60s / 5s, then the retries


def _health_exec(objects: Objects) -> None:
    c = container(objects)
    assert c["readinessProbe"]["exec"]["command"] == ["/bin/sh", "-c", "pg_isready -U postgres"]
    assert c["readinessProbe"]["periodSeconds"] == 30  # Docker's default interval


def _restart(objects: Objects) -> None:
    assert workload(objects)["kind"] == "Deployment"


def _on_failure(objects: Objects) -> None:
    assert workload(objects)["spec"]["restartPolicy"] == "OnFailure"


def _entrypoint(objects: Objects) -> None:
    c = container(objects)
    assert c["command"] == ["/bin/bash"]
    assert c["args"] == ["-c", "echo $$(hostname) && sleep 1"]


def _mount(objects: Objects) -> None:
    assert _mounts(objects)["/models"] == {
        "name": "models",
        "mountPath": "/models",
        "readOnly": True,
    }
    assert _volume(objects, "/cache")["emptyDir"] == {"medium": "Memory", "sizeLimit": "256Mi"}
    assert _volume(objects, "/run")["emptyDir"] == {"medium": "Memory", "sizeLimit": "64Mi"}
    host = _volume(objects, "/src")["hostPath"]
    assert host["path"] == "/opt/src" and host["type"] == "DirectoryOrCreate"


def _bind_file(objects: Objects) -> None:
    m = _mounts(objects)["/etc/nginx/nginx.conf"]
    assert m["subPath"] == "nginx.conf" and m["readOnly"] is True
    cm = get(objects, "ConfigMap", "web-nginx-conf")
    assert "proxy_pass http://web:8000" in cm["data"]["nginx.conf"]


def _ports(objects: Objects) -> None:
    ports = get(objects, "Service", "dns")["spec"]["ports"]
    assert [(p["port"], p["protocol"]) for p in ports] == [(53, "UDP"), (53, "TCP"), (9153, "TCP")]


def _network_host(objects: Objects) -> None:
    spec = pod_spec(workload(objects))
    assert spec["hostNetwork"] is True and spec["dnsPolicy"] == "ClusterFirstWithHostNet"
    assert spec["hostIPC"] is True


def _security(objects: Objects) -> None:
    sc = container(objects)["securityContext"]
    assert sc["privileged"] is True
    assert sc["capabilities"] == {"add": ["SYS_PTRACE", "NET_ADMIN"], "drop": ["MKNOD"]}
    assert sc["readOnlyRootFilesystem"] is True
    assert "allowPrivilegeEscalation" not in sc  # the API rejects it with privileged: true
    spec = pod_spec(workload(objects))
    assert spec["securityContext"]["sysctls"] == [{"name": "net.ipv4.ip_forward", "value": "1"}]


def _labels(objects: Objects) -> None:
    meta = workload(objects)["spec"]["template"]["metadata"]
    assert meta["labels"]["team"] == "ml"
    assert meta["annotations"]["description"] == "LLM inference, 7B model"
    spec = pod_spec(workload(objects))
    assert spec["hostname"] == "inference-0"
    assert spec["hostAliases"] == [{"ip": "10.1.2.3", "hostnames": ["db.internal"]}]
    assert spec["terminationGracePeriodSeconds"] == 45
    assert container(objects)["imagePullPolicy"] == "Always"
    assert spec["nodeSelector"] == {"kubernetes.io/os": "linux", "kubernetes.io/arch": "amd64"}


def _renamed(objects: Objects) -> None:
    assert workload(objects)["metadata"]["name"] == "my-llm-server"


def _statefulset(objects: Objects) -> None:
    sts = workload(objects)
    assert sts["kind"] == "StatefulSet"
    assert sts["spec"]["volumeClaimTemplates"][0]["metadata"]["name"] == "pgdata"
    assert get(objects, "Service", "postgres")["spec"]["clusterIP"] == "None"


CASES: list[tuple[str, str, Callable[[Objects], None], list[str]]] = [
    # (id, command, checks, inputs the report must mark unconverted)
    (
        "tgi",
        "docker run --gpus all --shm-size 1g -p 8080:80 -v models:/data "
        "registry.example.com/huggingface/text-generation-inference:2.0 "
        "--model-id HuggingFaceH4/zephyr-7b-beta",
        _tgi,
        [],
    ),
    (
        "interactive",
        "docker run -it --rm -w /workspace -u 1000:1000 "
        "pytorch/pytorch:2.3.0-cuda12.1-cudnn8-runtime python train.py --epochs 3",
        _interactive,
        [],
    ),
    (
        "gpu-devices",
        "docker run --gpus '\"device=0,1\"' nvidia/cuda:12.4.1-base nvidia-smi",
        _gpu_devices,
        [],
    ),
    (
        "gpu-devices-unquoted",
        "docker run --gpus device=0,1 nvidia/cuda:12.4.1-base nvidia-smi",
        _gpu_devices,
        [],
    ),
    (
        "gpu-count",
        "docker run --gpus 'count=4,capabilities=compute,utility' -d vllm/vllm-openai",
        _gpu_count,
        [],
    ),
    ("resources", "docker run -d --cpus=2.5 -m 8g --memory-reservation 4g redis:7", _resources, []),
    (
        "env",
        "docker run -d --name app -e MODE=fast -e HOME_COPY=$HOME -e HF_TOKEN -e UNSET_IN_SHELL "
        f"--env-file {FIXTURES}/app.env example/app:1.0",
        _env,
        [],
    ),
    (
        "health-http",
        "docker run -d --health-cmd 'curl -f http://localhost:8080/health || exit 1' "
        "--health-interval 10s --health-timeout 2s --health-retries 5 --health-start-period 60s "
        "--health-start-interval 5s -p 8080:8080 example/api:1.0",
        _health,
        [],
    ),
    (
        "health-exec",
        "docker run -d --health-cmd='pg_isready -U postgres' postgres:16",
        _health_exec,
        [],
    ),
    ("restart-always", "docker run --restart=always -p 6379:6379 redis:7", _restart, []),
    (
        "restart-on-failure",
        "docker run --restart on-failure:3 busybox:1.36 false",
        _on_failure,
        ["--restart on-failure:3"],
    ),
    (
        "entrypoint",
        "docker run --rm --entrypoint /bin/bash ubuntu:24.04 -c 'echo $(hostname) && sleep 1'",
        _entrypoint,
        [],
    ),
    (
        "mounts",
        "docker run -d --mount type=volume,source=models,target=/models,readonly "
        "--mount type=tmpfs,destination=/cache,tmpfs-size=256m --tmpfs /run:rw,size=64m "
        "-v /opt/src:/src:z example/app:1.0",
        _mount,
        [],
    ),
    (
        "bind-file",
        f"docker run -d --name web -p 80:80 -v {FIXTURES}/llm-stack/nginx.conf:"
        "/etc/nginx/nginx.conf:ro nginx:1.25",
        _bind_file,
        [],
    ),
    (
        "ports",
        "docker run -d --name dns -p 53:53/udp -p 53:53 -p 127.0.0.1:9153:9153 coredns/coredns",
        _ports,
        ["-p 127.0.0.1:9153:9153"],
    ),
    (
        "network-host",
        "docker run -d --network=host --ipc=host --ulimit memlock=-1 "
        "--ulimit stack=67108864 nvidia/pytorch:24.05-py3",
        _network_host,
        ["--ulimit memlock=-1 --ulimit stack=67108864"],
    ),
    (
        "security",
        "docker run -d --privileged --cap-add SYS_PTRACE --cap-add=CAP_NET_ADMIN --cap-drop mknod "
        "--read-only --security-opt no-new-privileges --sysctl net.ipv4.ip_forward=1 "
        "--init --pids-limit 100 example/app:1.0",
        _security,
        ["--init", "--pids-limit 100"],
    ),
    (
        "labels",
        "docker run -dit -h inference-0 -l team=ml --label 'description=LLM inference, 7B model' "
        "--add-host db.internal:10.1.2.3 --stop-timeout 45 --pull always "
        "--platform linux/amd64 --log-driver json-file --log-opt max-size=10m example/llm:1.0",
        _labels,
        ["--log-driver json-file --log-opt max-size=10m"],
    ),
    ("renamed", "docker run -d --name My_LLM.Server -p 8000:8000 example/llm:1.0", _renamed, []),
    (
        "statefulset",
        "docker run -d -v pgdata:/var/lib/postgresql/data -e POSTGRES_PASSWORD=pw postgres:16",
        _statefulset,
        [],
    ),
    ("no-docker-prefix", "-d -p 8080:80 nginx:1.25", _restart, []),
]


@pytest.mark.parametrize(
    ("name", "command", "checks", "unconverted"), CASES, ids=[c[0] for c in CASES]
)
def test_docker_run(
    name: str, command: str, checks: Callable[[Objects], None], unconverted: list[str]
) -> None:
    result = convert_docker_run(command, environ=ENV, cwd=FIXTURES)
    check_objects(result.objects)
    checks(result.objects)
    assert sorted(e.field for e in result.report.of(Outcome.UNCONVERTED)) == sorted(unconverted)
    check_golden(f"run-{name}", result)


@pytest.mark.parametrize(
    ("words", "flags", "image", "args"),
    [
        (["-dit", "img"], ["detach", "interactive", "tty"], "img", []),
        (["-itp", "80:80", "img"], ["interactive", "tty", "publish"], "img", []),
        (["-p8080:80", "img", "-p", "x"], ["publish"], "img", ["-p", "x"]),
        (["-e=A=1", "--rm=false", "img"], ["env", "rm"], "img", []),
        (["--", "img", "--flag"], [], "img", ["--flag"]),
        (["--name=x", "--gpus", "all", "img:1", "a", "b"], ["name", "gpus"], "img:1", ["a", "b"]),
    ],
)
def test_flag_syntax(words: list[str], flags: list[str], image: str, args: list[str]) -> None:
    run = parse(words)
    assert [f.name for f in run.flags] == flags
    assert (run.image, run.args) == (image, args)


def test_short_value_forms() -> None:
    run = parse(["-p8080:80", "-e=A=1", "-itp", "81:81", "img"])
    assert [(f.name, f.value) for f in run.flags] == [
        ("publish", "8080:80"), ("env", "A=1"), ("interactive", "true"), ("tty", "true"),
        ("publish", "81:81"),
    ]  # fmt: skip


def test_prefixes_are_optional() -> None:
    for prefix in ("docker run ", "docker container run ", "run ", ""):
        assert split_command(prefix + "-d nginx", {}) == ["-d", "nginx"]


@pytest.mark.parametrize(
    ("command", "message"),
    [
        ("docker run --frobnicate nginx", "unknown flag --frobnicate"),
        ("docker run -Z nginx", "unknown shorthand flag -Z"),
        ("docker run -d", "no image"),
        ("docker run -p", "needs a value"),
        ("docker run -p 80:abc nginx", "'80:abc' is not a port mapping"),
        ("docker run --cpus lots nginx", "'lots' is not a number of CPUs"),
        ("docker run --shm-size 1x nginx", "'1x' is not a size"),
        ("docker run --gpus 'count=2,colour=red' nginx", "unknown GPU request field 'colour'"),
        ("docker run -v $MODEL_DIR:/models nginx", "$MODEL_DIR, which is not set"),
        ("docker run -v data:relative nginx", "must be absolute"),
        ("docker run --health-cmd true --health-interval soon nginx", "'soon' is not a duration"),
        ("docker run --restart sometimes nginx", "--restart 'sometimes'"),
        (
            "docker run --health-cmd true --health-retries x nginx",
            "--health-retries x: not a valid",
        ),
        ("docker run --rm=maybe nginx", "--rm=maybe: expected true or false"),
    ],
)
def test_bad_commands(command: str, message: str) -> None:
    with pytest.raises(ConvertError) as err:
        convert_docker_run(command, environ={})
    assert message in str(err.value)


def test_unknown_user_name_is_reported_not_dropped(tmp_path: Path) -> None:
    result = convert_docker_run("docker run -u nginx -d nginx:1.25", environ={}, cwd=tmp_path)
    check_objects(result.objects)
    assert "securityContext" not in container(result.objects)
    [entry] = result.report.of(Outcome.UNCONVERTED)
    assert entry.field == "-u nginx" and "numeric" in entry.why


def test_as_overrides_the_workload() -> None:
    result = convert_docker_run("docker run -d -p 80:80 nginx:1.25", Options(workload="Pod"))
    check_objects(result.objects)
    assert workload(result.objects)["kind"] == "Pod"
    assert [e.became for e in result.report.entries if e.field == "(workload)"] == ["Pod"]
