"""Settings of the simulated GPU plugin: command-line flags, each with an environment variable.

Flags win over environment variables (the DaemonSet sets variables; a person at a shell types
flags).
Every bad value raises ConfigError with a message that names the setting, the value and the fix.
"""

from __future__ import annotations

import argparse
import os
import re
import socket
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

from docker2k8s.gpu.api import DEVICE_PLUGIN_PATH
from docker2k8s.gpu.devices import DEFAULT_PRODUCT, KNOWN_MODELS, GpuModel

MAX_GPUS = 64
MAX_UNIX_SOCKET_PATH = 107  # sun_path is 108 bytes including the terminating NUL
_LABEL_VALUE = re.compile(r"^[A-Za-z0-9]([A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")


class ConfigError(ValueError):
    """A setting has a value the plugin cannot use; the message says which and how to fix it."""


@dataclass(frozen=True)
class PluginConfig:
    gpu_count: int
    node_name: str
    plugin_dir: Path
    model: GpuModel
    resource_name: str = "nvidia.com/gpu"
    socket_name: str = "nvidia-gpu.sock"
    label_node: bool = False
    pre_start_required: bool = False
    unhealthy_file: Path | None = None  # lists GPUs (index or ID) to report Unhealthy

    @property
    def socket_path(self) -> Path:
        return self.plugin_dir / self.socket_name

    @property
    def kubelet_socket(self) -> Path:
        return self.plugin_dir / "kubelet.sock"


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="python -m docker2k8s.gpu",
        description="Simulated NVIDIA GPU device plugin: advertises nvidia.com/gpu to the kubelet.",
    )
    p.add_argument("--gpus", help=f"number of GPUs to advertise, 1-{MAX_GPUS} [D2K_GPU_COUNT, 8]")
    p.add_argument("--node-name", help="node whose GPUs these are [NODE_NAME, hostname]")
    p.add_argument(
        "--plugin-dir",
        help=f"kubelet device-plugin directory [D2K_DEVICE_PLUGIN_DIR, {DEVICE_PLUGIN_PATH}]",
    )
    p.add_argument("--product", help=f"GPU model label [D2K_GPU_PRODUCT, {DEFAULT_PRODUCT}]")
    p.add_argument("--memory-mib", help="memory per GPU in MiB [D2K_GPU_MEMORY_MIB, by product]")
    p.add_argument(
        "--label-node",
        help="label the node through the Kubernetes API: auto (when in a pod), yes, no "
        "[D2K_GPU_LABEL_NODE, auto]",
    )
    p.add_argument(
        "--pre-start-required",
        action="store_true",
        default=None,
        help="ask the kubelet to call PreStartContainer [D2K_GPU_PRE_START_REQUIRED]",
    )
    p.add_argument(
        "--unhealthy-file",
        help="file listing GPUs (index or ID, one per line) to report Unhealthy, re-read every "
        "second: simulates failing GPUs [D2K_GPU_UNHEALTHY_FILE, none]",
    )
    return p


def _pick(flag: str | None, env: Mapping[str, str], name: str) -> tuple[str | None, str]:
    """The raw value and where it came from, for error messages."""
    if flag is not None:
        return flag, f"--{name}"
    key = {
        "gpus": "D2K_GPU_COUNT",
        "node-name": "NODE_NAME",
        "plugin-dir": "D2K_DEVICE_PLUGIN_DIR",
        "product": "D2K_GPU_PRODUCT",
        "memory-mib": "D2K_GPU_MEMORY_MIB",
        "label-node": "D2K_GPU_LABEL_NODE",
        "pre-start-required": "D2K_GPU_PRE_START_REQUIRED",
        "unhealthy-file": "D2K_GPU_UNHEALTHY_FILE",
    }[name]
    value = env.get(key)
    return (value if value not in (None, "") else None), key


def _whole_number(raw: str, source: str, low: int, high: int, example: str) -> int:
    try:
        value = int(raw.strip())
    except ValueError:
        value = None
    if value is None or not low <= value <= high:
        raise ConfigError(
            f"{source} must be a whole number from {low} to {high}, got {raw!r}. Fix: {example}."
        )
    return value


def _yes_no(raw: str, source: str) -> bool:
    word = raw.strip().lower()
    if word in ("1", "true", "yes", "on"):
        return True
    if word in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{source} must be true or false, got {raw!r}.")


def parse_config(
    argv: Sequence[str] | None = None, env: Mapping[str, str] | None = None
) -> PluginConfig:
    """Read flags and environment into a checked PluginConfig, or raise ConfigError."""
    env = os.environ if env is None else env
    args = _parser().parse_args(argv)

    raw, source = _pick(args.gpus, env, "gpus")
    count = 8
    if raw is not None:
        count = _whole_number(raw, source, 1, MAX_GPUS, "pass --gpus 8 or set D2K_GPU_COUNT=8")

    raw, _ = _pick(args.node_name, env, "node-name")
    node_name = raw or socket.gethostname()

    raw, source = _pick(args.plugin_dir, env, "plugin-dir")
    plugin_dir = Path(raw or DEVICE_PLUGIN_PATH).absolute()
    longest = plugin_dir / "nvidia-gpu.sock"
    if len(str(longest).encode()) > MAX_UNIX_SOCKET_PATH:
        raise ConfigError(
            f"{source} is too long for a unix socket path ({len(str(longest))} bytes, at most "
            f"{MAX_UNIX_SOCKET_PATH} with the socket name): {plugin_dir}. "
            "Fix: use a shorter directory."
        )

    raw, source = _pick(args.product, env, "product")
    product = raw or DEFAULT_PRODUCT
    if not _LABEL_VALUE.match(product):
        raise ConfigError(
            f"{source} must be usable as a label value (letters, digits, '-', '_', '.', "
            "at most 63, "
            f"e.g. {DEFAULT_PRODUCT}), got {product!r}."
        )
    known = KNOWN_MODELS.get(product)
    raw, source = _pick(args.memory_mib, env, "memory-mib")
    if raw is not None:
        memory = _whole_number(raw, source, 1, 1 << 22, "pass --memory-mib 40960")
        model = GpuModel(product, memory, known.family if known else "unknown")
    elif known is not None:
        model = known
    else:
        raise ConfigError(
            f"the memory of GPU model {product!r} is not known. Fix: pass --memory-mib (or set "
            f"D2K_GPU_MEMORY_MIB), or use one of {', '.join(sorted(KNOWN_MODELS))}."
        )

    raw, source = _pick(args.label_node, env, "label-node")
    mode = (raw or "auto").strip().lower()
    if mode == "auto":
        label_node = bool(env.get("KUBERNETES_SERVICE_HOST"))
    elif mode in ("yes", "no", "true", "false", "1", "0"):
        label_node = _yes_no(mode, source)
    else:
        raise ConfigError(f"{source} must be auto, yes or no, got {raw!r}.")

    pre_start = args.pre_start_required
    if pre_start is None:
        raw, source = _pick(None, env, "pre-start-required")
        pre_start = _yes_no(raw, source) if raw is not None else False

    raw, _ = _pick(args.unhealthy_file, env, "unhealthy-file")
    unhealthy_file = Path(raw).absolute() if raw else None

    return PluginConfig(
        gpu_count=count,
        node_name=node_name,
        plugin_dir=plugin_dir,
        model=model,
        label_node=label_node,
        pre_start_required=pre_start,
        unhealthy_file=unhealthy_file,
    )
