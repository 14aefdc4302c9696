"""`d2k convert run` and `d2k convert compose` as a user runs them: YAML on stdout, the
report on stderr, files with -o, exit codes, and no traceback on bad input."""

import os
import subprocess
import sys
from pathlib import Path

import yaml
from convert_checks import FIXTURES, check_objects
from typer.testing import CliRunner

from docker2k8s.convert.commands import app

LLM = str(FIXTURES / "llm-stack" / "compose.yaml")
RUNNER = CliRunner()


D2K = Path(sys.executable).parent / "d2k"


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    """`d2k convert ...` in a real process, so stdout and stderr are really separate."""
    assert D2K.exists(), f"{D2K} is missing: pip install -e '.[dev]' installs the d2k command"
    env = {**os.environ, "COLUMNS": "200"}
    env.pop("MYSQL_ROOT_PASSWORD", None)
    return subprocess.run(
        [str(D2K), "convert", *args], capture_output=True, text=True, env=env, timeout=60
    )


def test_compose_stream_on_stdout_report_on_stderr() -> None:
    proc = _run("compose", LLM)
    assert proc.returncode == 0, proc.stderr
    objects = list(yaml.safe_load_all(proc.stdout))
    check_objects(objects)
    assert {o["kind"] for o in objects} == {
        "ConfigMap", "Secret", "PersistentVolumeClaim", "Service", "Deployment", "StatefulSet",
    }  # fmt: skip
    assert "docker2k8s conversion report" in proc.stderr
    assert "nvidia.com/gpu" in proc.stderr and "converted" in proc.stderr
    assert "apiVersion" not in proc.stderr


def test_compose_output_dir(tmp_path: Path) -> None:
    out = tmp_path / "manifests"
    proc = _run("compose", LLM, "-o", str(out), "--volume-size", "5g", "--quiet")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == ""
    files = sorted(p.name for p in out.iterdir())
    assert "tgi-deployment.yaml" in files and "db-statefulset.yaml" in files
    assert "models-data-persistentvolumeclaim.yaml" in files
    objects = [yaml.safe_load(p.read_text()) for p in sorted(out.iterdir())]
    check_objects(objects)
    sts = next(o for o in objects if o["kind"] == "StatefulSet")
    size = sts["spec"]["volumeClaimTemplates"][0]["spec"]["resources"]["requests"]["storage"]
    assert size == "5Gi"


def test_compose_options() -> None:
    result = RUNNER.invoke(
        app,
        ["compose", LLM, "--statefulset", "tgi", "--service-type", "NodePort", "--all-gpus", "2",
         "--wait-image", "local/wait:1", "-q"],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    objects = list(yaml.safe_load_all(result.stdout))
    check_objects(objects)
    kinds = {o["metadata"]["name"]: o["kind"] for o in objects if o["kind"] != "Service"}
    assert kinds["tgi"] == "StatefulSet"
    web = next(o for o in objects if o["kind"] == "Service" and o["metadata"]["name"] == "web")
    assert web["spec"]["type"] == "NodePort"
    deploy = next(
        o for o in objects if o["kind"] == "Deployment" and o["metadata"]["name"] == "web"
    )
    images = {c["image"] for c in deploy["spec"]["template"]["spec"]["initContainers"]}
    assert images == {"local/wait:1"}


def test_strict_fails_on_unconverted(tmp_path: Path) -> None:
    path = tmp_path / "compose.yaml"
    path.write_text("services:\n  s:\n    image: a:1\n    ulimits:\n      nofile: 1024\n")
    assert _run("compose", str(path)).returncode == 0
    proc = _run("compose", str(path), "--strict")
    assert proc.returncode == 1
    assert "--strict: 1 input(s) were not converted" in proc.stderr
    assert _run("compose", LLM, "--strict", "-q").returncode == 0


def test_run_after_double_dash() -> None:
    proc = _run("run", "--", "docker", "run", "-d", "--gpus", "all", "--shm-size", "2g",
                "-p", "8080:80", "example/tgi:1", "--model-id", "m")  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    objects = list(yaml.safe_load_all(proc.stdout))
    check_objects(objects)
    deploy = next(o for o in objects if o["kind"] == "Deployment")
    c = deploy["spec"]["template"]["spec"]["containers"][0]
    assert c["args"] == ["--model-id", "m"]
    assert c["resources"]["limits"]["nvidia.com/gpu"] == "1"


def test_run_without_docker_prefix_and_as_pod() -> None:
    result = RUNNER.invoke(app, ["run", "--as", "pod", "-q", "--", "-p", "80:80", "nginx:1.25"])
    assert result.exit_code == 0, result.output
    kinds = [o["kind"] for o in yaml.safe_load_all(result.stdout)]
    assert kinds == ["Service", "Pod"]


def test_errors_have_no_traceback(tmp_path: Path) -> None:
    cases = [
        (
            ["compose", str(FIXTURES / "bad-yaml" / "compose.yaml")],
            "compose.yaml:6:6: invalid YAML",
        ),
        (["compose", str(tmp_path / "missing.yaml")], "no such compose file"),
        (["run", "--", "docker", "run", "--bogus", "x"], "unknown flag --bogus"),
        (["run", "--", "docker", "run", "--cpus", "many", "x"], "'many' is not a number of CPUs"),
        (["compose", LLM, "--service-type", "Ingress"], "--service-type Ingress"),
        (["compose", LLM, "--volume-size", "big"], "'big' is not a size"),
    ]
    for args, message in cases:
        proc = _run(*args)
        assert proc.returncode == 2, (args, proc.stderr)
        assert message in proc.stderr, proc.stderr
        assert "Traceback" not in proc.stderr and proc.stdout == ""
