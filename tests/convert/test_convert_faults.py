"""Inputs that used to crash `d2k convert`, hang the Pods it wrote, or pass values the API server
rejects as "converted" (issue: reliability). Each ends in exit 0 with valid output, or exit 2
with a message naming the field, and never a traceback."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

D2K = Path(sys.executable).parent / "d2k"


def convert(*args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    done = subprocess.run(
        [str(D2K), "convert", *args], capture_output=True, text=True, env=env, timeout=60
    )
    assert "Traceback" not in done.stderr, done.stderr
    return done


def compose_file(tmp_path: Path, text: str | bytes) -> str:
    path = tmp_path / "compose.yaml"
    if isinstance(text, bytes):
        path.write_bytes(text)
    else:
        path.write_text(text)
    return str(path)


def test_a_command_pasted_as_one_argument_is_split():
    done = convert("run", "--", "docker run --gpus all -p 8080:80 nginx:1.27")
    assert done.returncode == 0, done.stderr
    objects = list(yaml.safe_load_all(done.stdout))
    (deployment,) = [o for o in objects if o["kind"] == "Deployment"]
    container = deployment["spec"]["template"]["spec"]["containers"][0]
    assert container["image"] == "nginx:1.27"
    assert container["resources"]["limits"]["nvidia.com/gpu"] == "1"


@pytest.mark.parametrize("image", ["Not-Lowercase/App", "nginx latest", "nginx:", "a//b"])
def test_an_invalid_image_name_is_refused(tmp_path, image):
    done = convert("compose", compose_file(tmp_path, f"services:\n  app:\n    image: '{image}'\n"))
    assert done.returncode == 2 and "app.image" in done.stderr and "image reference" in done.stderr


CYCLES = {
    "self": "services:\n  a:\n    image: x\n    depends_on: [a]\n",
    "two": "services:\n  a:\n    image: x\n    depends_on: [b]\n  b:\n    image: y\n"
    "    depends_on: [a]\n",
}


@pytest.mark.parametrize("case", CYCLES)
def test_a_dependency_cycle_is_refused(tmp_path, case):
    done = convert("compose", compose_file(tmp_path, CYCLES[case]))
    assert done.returncode == 2 and "dependency cycle detected: a -> " in done.stderr


def test_a_long_dependency_chain_is_fine(tmp_path):
    services = "".join(
        f"  s{i}:\n    image: x\n" + (f"    depends_on: [s{i + 1}]\n" if i < 2999 else "")
        for i in range(3000)
    )
    done = convert("compose", compose_file(tmp_path, "services:\n" + services), "-q")
    assert done.returncode == 0, done.stderr[-2000:]


def test_a_file_that_is_not_utf8_is_named(tmp_path):
    done = convert(
        "compose", compose_file(tmp_path, "services:\n  a:\n    image: caf\xe9\n".encode("latin-1"))
    )
    assert done.returncode == 2 and "is not UTF-8" in done.stderr


def test_an_env_file_that_is_not_utf8_is_named(tmp_path):
    (tmp_path / "app.env").write_bytes("NAME=caf\xe9\n".encode("latin-1"))
    done = convert(
        "compose", compose_file(tmp_path, "services:\n  a:\n    image: x\n    env_file: app.env\n")
    )
    assert done.returncode == 2 and "app.env" in done.stderr and "is not UTF-8" in done.stderr


@pytest.mark.parametrize("cpus", ["inf", "1e400", "nan"])
def test_cpus_that_no_machine_has_are_refused(tmp_path, cpus):
    done = convert(
        "compose", compose_file(tmp_path, f"services:\n  a:\n    image: x\n    cpus: {cpus}\n")
    )
    assert done.returncode == 2 and "a.cpus" in done.stderr
    done = convert("run", "--", "docker", "run", "--cpus", cpus, "x")
    assert done.returncode == 2 and "x.cpus" in done.stderr


def test_an_alias_bomb_is_refused(tmp_path):
    levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]']
    for n in range(1, 9):
        levels.append(f"{chr(97 + n)}: &{chr(97 + n)} [" + ",".join([f"*{chr(96 + n)}"] * 9) + "]")
    text = (
        "x-bomb:\n" + "".join(f"  {line}\n" for line in levels) + "services:\n  s:\n    image: x\n"
    )
    assert len(text) < 600
    done = convert("compose", compose_file(tmp_path, text))
    assert done.returncode == 2 and "aliases expand to more than" in done.stderr


def test_merge_keys_still_override(tmp_path):
    text = "x-base: &base\n  image: x\n  cpus: 1\nservices:\n  a:\n    <<: *base\n    cpus: 2\n"
    done = convert("compose", compose_file(tmp_path, text))
    assert done.returncode == 0, done.stderr
    assert "cpu: '2'" in done.stdout or 'cpu: "2"' in done.stdout


@pytest.mark.parametrize(
    ("fragment", "named"),
    [
        ("    deploy:\n      replicas: -2\n", "deploy.replicas"),
        (
            "    deploy:\n      resources:\n        reservations:\n          devices:\n"
            "            - {driver: nvidia, count: -3, capabilities: [gpu]}\n",
            ".count",
        ),
        ("    image: y\n", "'image' appears twice"),
    ],
)
def test_values_the_api_server_rejects_are_refused(tmp_path, fragment, named):
    done = convert("compose", compose_file(tmp_path, "services:\n  a:\n    image: x\n" + fragment))
    assert done.returncode == 2 and named in done.stderr, done.stderr


def test_a_url_with_a_password_in_an_env_file_goes_to_a_secret(tmp_path):
    (tmp_path / "app.env").write_text("DATABASE_URL=mysql://chat:hunter2@db/chat\nMODE=fast\n")
    done = convert(
        "compose", compose_file(tmp_path, "services:\n  a:\n    image: x\n    env_file: app.env\n")
    )
    assert done.returncode == 0, done.stderr
    objects = {o["kind"]: o for o in yaml.safe_load_all(done.stdout) if o}
    assert objects["ConfigMap"]["data"] == {"MODE": "fast"}
    assert set(objects["Secret"].get("stringData") or objects["Secret"]["data"]) == {"DATABASE_URL"}
