"""Simulated NVIDIA GPUs for a GPU-less cluster: a kubelet device plugin (API v1beta1 over gRPC).

`python -m docker2k8s.gpu --gpus 8` or `run(parse_config([...]), stop_event)` advertises
`nvidia.com/gpu` devices with GPU-UUID IDs, answers Allocate with NVIDIA_VISIBLE_DEVICES as NVIDIA's
plugin does, re-registers when the kubelet restarts and labels its node like GPU feature discovery.
On a real GPU cluster NVIDIA's own plugin takes its place and nothing else changes.
"""

from docker2k8s.gpu.config import ConfigError, PluginConfig, parse_config
from docker2k8s.gpu.plugin import run

__all__ = ["ConfigError", "PluginConfig", "parse_config", "run"]
