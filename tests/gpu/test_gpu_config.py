"""Bad settings stop the plugin with a message that names the setting, the value and the fix."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from docker2k8s.gpu.config import ConfigError, parse_config
from docker2k8s.gpu.devices import gpu_ids


def run_plugin(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "docker2k8s.gpu", "--plugin-dir", "/nonexistent/d2k", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, **(env or {})},
        check=False,
    )


@pytest.mark.parametrize("value", ["0", "-3", "eight", "2.5", "65"])
def test_bad_gpu_count_flag_is_a_clear_error(value: str) -> None:
    result = run_plugin(f"--gpus={value}")
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"--gpus must be a whole number from 1 to 64, got '{value}'" in result.stderr
    assert "Fix: pass --gpus 8" in result.stderr


@pytest.mark.parametrize("value", ["0", "-1", "lots"])
def test_bad_gpu_count_env_is_a_clear_error(value: str) -> None:
    result = run_plugin(env={"D2K_GPU_COUNT": value})
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert f"D2K_GPU_COUNT must be a whole number from 1 to 64, got '{value}'" in result.stderr


def test_flag_wins_over_env() -> None:
    config = parse_config(["--gpus", "2"], env={"D2K_GPU_COUNT": "5"})
    assert config.gpu_count == 2


def test_defaults() -> None:
    config = parse_config([], env={"NODE_NAME": "n1"})
    assert config.gpu_count == 8
    assert config.node_name == "n1"
    assert str(config.plugin_dir) == "/var/lib/kubelet/device-plugins"
    assert config.resource_name == "nvidia.com/gpu"
    assert config.model.product == "NVIDIA-A100-SXM4-40GB"
    assert config.model.memory_mib == 40960
    assert config.label_node is False  # not in a pod
    assert parse_config([], env={"KUBERNETES_SERVICE_HOST": "10.96.0.1"}).label_node is True


def test_unknown_product_needs_memory() -> None:
    with pytest.raises(ConfigError, match="--memory-mib"):
        parse_config(["--product", "Mystery-GPU"], env={})
    config = parse_config(["--product", "Mystery-GPU", "--memory-mib", "1024"], env={})
    assert (config.model.memory_mib, config.model.family) == (1024, "unknown")


@pytest.mark.parametrize(
    ("argv", "env", "needle"),
    [
        (["--product", "A100 with spaces"], {}, "label value"),
        (["--label-node", "maybe"], {}, "auto, yes or no"),
        ([], {"D2K_GPU_PRE_START_REQUIRED": "perhaps"}, "true or false"),
        (["--plugin-dir", "/tmp/" + "x" * 120], {}, "too long for a unix socket path"),
    ],
)
def test_other_bad_settings(argv: list[str], env: dict[str, str], needle: str) -> None:
    with pytest.raises(ConfigError, match=needle):
        parse_config(argv, env=env)


def test_ids_are_deterministic_per_node_and_distinct_across_nodes() -> None:
    assert gpu_ids("node-a", 8) == gpu_ids("node-a", 8)
    assert gpu_ids("node-a", 4) == gpu_ids("node-a", 8)[:4]
    assert not set(gpu_ids("node-a", 8)) & set(gpu_ids("node-b", 8))
