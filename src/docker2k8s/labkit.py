"""The helpers the labs share, so a lab opens with a few imports instead of a page of code.

In a notebook::

    from docker2k8s.labkit import run, wait_for_http

    print(run("kubectl get pods -n $NS"))           # what it printed; an error if it failed
    wait_for_http("http://127.0.0.1:8080/health")   # until it answers 200

Each helper raises an exception that says what went wrong (a command's own error message, the
last answer of a server), so a failing cell tells the learner where to look.
"""

from __future__ import annotations

import json
import os
import shlex
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import docker

from docker2k8s import lab_settings
from docker2k8s.cluster import kubectl

# What a rejected manifest usually means, by a piece of kubectl's message: the hint printed with it.
REJECTION_HINTS = [
    (
        "error converting YAML",
        "the file is not valid YAML: indent with spaces (never tabs), and "
        "align the items of one level",
    ),
    ("no objects passed to apply", "the file holds no object yet: write the manifest first"),
    (
        "unknown field",
        "a field name is misspelt or at the wrong level: compare with the worked "
        "example, or ask `kubectl explain pod.spec.containers` (any path) what belongs there",
    ),
    (
        "cannot unmarshal number into Go struct field",
        'a number where the API wants a string (ConfigMap data, env values): quote it, "60"',
    ),
    ("Required value", "a required field is missing: the message names it"),
    ("Invalid value", "a value breaks a rule of the API: the message names the field and the rule"),
    ("does not match the namespace", "leave metadata.namespace out: the lab applies to $NS"),
    (
        "accumulating resources",
        "kustomize could not read an entry of `resources:`: each is a path relative to the "
        "kustomization's folder, to a manifest or to a folder with a kustomization.yaml of its own",
    ),
    (
        "is not in or below",
        "kustomize reads files (a secretGenerator's envs or files) only inside the "
        "kustomization's folder: put the kustomization.yaml next to the file",
    ),
    (
        "may not be specified when `value` is not empty",
        "an env entry has both a value and a valueFrom: a patch that adds valueFrom keeps the "
        "base's value unless it says `value: null`",
    ),
]


def run(command: str, stdin: str | None = None) -> str:
    """Run a shell command (with `stdin` as its input) and return what it printed; raise with its
    error message if it fails. `$NS` and `$MANIFESTS` come from the environment, as in `!` lines."""
    # Jupyter sets FORCE_COLOR, which makes command-line tools draw spinners into captured output.
    env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "CLICOLOR_FORCE")}
    done = subprocess.run(command, shell=True, capture_output=True, text=True, env=env, input=stdin)
    if done.returncode != 0:
        raise RuntimeError(f"{command!r} failed: {done.stderr.strip()}")
    return done.stdout


class ManifestRejected(RuntimeError):
    """kubectl apply refused a manifest: the API server's message, and a hint."""


def apply(path: str | os.PathLike, namespace: str | None = None) -> str:
    """`kubectl apply` a manifest you wrote, or a folder holding a kustomization.yaml (what
    `kubectl apply -k` takes), in the lab's namespace. The workshop's images are named as this
    cluster pulls them; a rejection comes back with its message and a hint."""
    path = Path(path)
    what = f"kubectl apply {'-k' if path.is_dir() else '-f'} {path}"
    text = _kubectl(["kustomize", str(path)], None, what) if path.is_dir() else path.read_text()
    return _kubectl(
        ["apply", "-n", _namespace(namespace), "-f", "-"], lab_settings.for_cluster(text), what
    )


def _kubectl(args: list[str], stdin: str | None, what: str) -> str:
    done = subprocess.run([kubectl.on_path(), *args], input=stdin, capture_output=True, text=True)
    if done.returncode != 0:
        message = done.stderr.strip()
        hints = [hint for piece, hint in REJECTION_HINTS if piece in message]
        raise ManifestRejected(
            f"{what} was refused:\n{message}" + "".join(f"\nhint: {hint}" for hint in hints)
        )
    return done.stdout


def free_port() -> int:
    """A loopback TCP port nothing listens on: the kernel picks one for port 0."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get_container(name: str):
    """The Docker container named `name`; an AssertionError saying so when there is none."""
    try:
        return docker.from_env().containers.get(name)
    except docker.errors.NotFound:
        raise AssertionError(f"there is no container named {name}") from None


def wait_for_http(url: str, timeout: float = 30, container_name: str | None = None) -> None:
    """Wait until `url` answers 200 (the inference server answers 503 while its model loads).
    With `container_name`, stop early with its logs when that container has exited."""
    deadline = time.monotonic() + timeout
    while True:
        if container_name and (found := get_container(container_name)).status == "exited":
            logs = found.logs().decode(errors="replace")[-2000:]
            raise RuntimeError(f"{container_name} exited; its logs:\n{logs}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except OSError as error:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer in {timeout:.0f} s: {error}") from None
            time.sleep(0.2)


def wait_ready(container_name: str, url: str, timeout: float = 60) -> None:
    """Until the inference server in a container answers GET /health with 200 (503 while its
    model loads); an error with its logs as soon as the container exits."""
    wait_for_http(f"{url}/health", timeout, container_name)


def http_json(url: str, timeout: float = 3) -> Any:
    """The JSON a URL answers, also when its status is an error (a 503 /readyz says why)."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as answer:
            return json.load(answer)
    except urllib.error.HTTPError as error:
        return json.load(error)


def chat(web_url: str, message: str, timeout: float = 60, patience: float = 30) -> dict:
    """Send `message` to the chat app behind `web_url` (POST /api/chat, as the page does) and
    return its final `done` event: conversation_id, content (the reply), replica (the inference
    Pod or container that answered). An error names the event or status that came instead.

    A 502/503/504 or a refused connection is tried again for `patience` seconds, as a user would
    press Send again: right after a rollout, the Service may still route to a Pod that is
    stopping until kube-proxy has caught up (chapter 05, endpoints)."""
    request = urllib.request.Request(
        f"{web_url}/api/chat",
        data=json.dumps({"message": message}).encode(),
        headers={"content-type": "application/json"},
    )
    deadline = time.monotonic() + patience
    while True:
        try:
            with urllib.request.urlopen(request, timeout=timeout) as answer:
                events = answer.read().decode().split("\n\n")
            break
        except urllib.error.HTTPError as error:
            failure = f"{web_url}/api/chat answered {error.code}: {error.read()!r}"
            if error.code not in (502, 503, 504) or time.monotonic() > deadline:
                raise RuntimeError(failure) from None
        except urllib.error.URLError as error:
            failure = f"{web_url}/api/chat is not reachable: {error.reason}"
            if time.monotonic() > deadline:
                raise RuntimeError(failure) from None
        print(f"{failure}; sending it again")
        time.sleep(1)
    last = events[-2].splitlines() if len(events) > 1 else []  # the body ends with a blank line
    if len(last) != 2 or last[0] != "event: done":
        raise RuntimeError(f"{web_url}/api/chat did not finish its answer: {events[-3:]}")
    return json.loads(last[1].removeprefix("data: "))


def docker_info(container_name: str, timeout: float = 30) -> dict:
    """GET /info of an inference server started with `-p 127.0.0.1::80`, once its model loaded."""
    url = "http://" + run(f"docker port {container_name} 80/tcp").split()[0] + "/info"
    deadline = time.monotonic() + timeout
    while True:
        try:
            info = http_json(url, timeout=2)
            if info.get("ready"):
                return info
        except OSError as error:
            if time.monotonic() > deadline:
                raise TimeoutError(f"{url} did not answer in {timeout:.0f} s: {error}") from None
        if time.monotonic() > deadline:
            raise TimeoutError(f"{container_name} did not load its model in {timeout:.0f} s")
        time.sleep(0.3)


def _namespace(namespace: str | None) -> str:
    """The given namespace, else the lab's ($NS, which the lab's first cell sets)."""
    if namespace or os.environ.get("NS"):
        return namespace or os.environ["NS"]
    raise RuntimeError("no namespace: pass one, or run the lab's first cell (it sets $NS)")


def pod_info(pod: str, namespace: str | None = None) -> dict:
    """GET /info of the inference server in a Pod, from inside it (no port-forward needed)."""
    code = "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1/info').read().decode())"
    namespace = _namespace(namespace)
    return json.loads(run(f"kubectl exec -n {namespace} {pod} -- python3 -c {shlex.quote(code)}"))


def wait_for_log(
    selector: str, text: str, namespace: str | None = None, timeout: float = 60
) -> str:
    """Until a Pod matching the label `selector` prints `text` (a training step, a checkpoint);
    return that Pod's name. An error with the last lines it printed when time runs out."""
    deadline, namespace, last = time.monotonic() + timeout, _namespace(namespace), ""
    while True:
        names = run(f"kubectl get pods -n {namespace} -l {shlex.quote(selector)} -o name").split()
        for name in names:
            done = subprocess.run(
                [kubectl.on_path(), "logs", "-n", namespace, name], capture_output=True, text=True
            )
            if text in done.stdout:
                return name.removeprefix("pod/")
            last = done.stdout[-500:] or done.stderr.strip()
        if time.monotonic() > deadline:
            raise TimeoutError(f"no Pod matching {selector!r} printed {text!r}; last: {last}")
        time.sleep(0.5)


def sql(query: str, namespace: str | None = None, pod: str = "db-0") -> str:
    """Run SQL as the user `chat` in the database Pod, with the password of its mounted Secret."""
    client = 'MYSQL_PWD="$(cat /run/secrets/db/password)" exec mariadb -uchat chat -N -B -e "$0"'
    command = ["exec", "-n", _namespace(namespace), pod, "--", "sh", "-c", client, query]
    done = subprocess.run([kubectl.on_path(), *command], capture_output=True, text=True)
    if done.returncode != 0:
        raise RuntimeError(f"SQL {query!r} failed: {done.stderr.strip()}")
    return done.stdout


class ComposeProject:
    """One Compose project: `project("up", "-d")` runs `docker compose -f FILE... -p NAME up -d`."""

    def __init__(self, name: str, files: list[str]) -> None:
        self.name = name
        self.args = ["docker", "compose", *(arg for f in files for arg in ("-f", f)), "-p", name]
        self.command = shlex.join(self.args)  # for `!{COMPOSE} ps` in a cell

    def __call__(self, *args: str, check: bool = True) -> str:
        """Its output, or an error with Compose's message."""
        done = subprocess.run([*self.args, *args], capture_output=True, text=True, timeout=300)
        if check and done.returncode != 0:
            raise RuntimeError(f"{self.command} {shlex.join(args)} failed:\n{done.stderr[-2000:]}")
        return done.stdout

    def container(self, service: str):
        """The container of one service (Compose labels it with the project and the service)."""
        labels = [
            f"com.docker.compose.project={self.name}",
            f"com.docker.compose.service={service}",
        ]
        found = docker.from_env().containers.list(all=True, filters={"label": labels})
        assert found, f"project {self.name} has no container for the service {service}"
        return found[0]

    def wait_healthy(self, service: str, timeout: float = 120) -> None:
        """Until Docker reports the service's healthcheck passing."""
        deadline, state = time.monotonic() + timeout, ""
        while time.monotonic() < deadline:
            state = self.container(service).attrs["State"].get("Health", {}).get("Status", "")
            if state == "healthy":
                return
            time.sleep(0.5)
        raise TimeoutError(f"{service} is not healthy after {timeout}s (last: {state!r})")
