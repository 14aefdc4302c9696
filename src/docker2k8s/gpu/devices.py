"""The simulated GPUs of one node: their IDs, their model, and GPU feature discovery's labels."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

# Fixed namespace so a node's GPU IDs are the same after every restart (the kubelet checkpoints
# allocations by device ID: IDs that changed on restart would orphan running pods' devices).
_ID_NAMESPACE = uuid.UUID("6f1c1a52-4a0e-5d2e-9c43-7d2b8e0b7a11")


@dataclass(frozen=True)
class GpuModel:
    product: str  # as NVIDIA's GPU feature discovery writes it: spaces become dashes
    memory_mib: int
    family: str


KNOWN_MODELS = {
    m.product: m
    for m in (
        GpuModel("NVIDIA-A100-SXM4-40GB", 40960, "ampere"),
        GpuModel("NVIDIA-A100-SXM4-80GB", 81920, "ampere"),
        GpuModel("NVIDIA-H100-80GB-HBM3", 81559, "hopper"),
        GpuModel("NVIDIA-L4", 23034, "ada-lovelace"),
        GpuModel("Tesla-T4", 15360, "turing"),
    )
}
DEFAULT_PRODUCT = "NVIDIA-A100-SXM4-40GB"


def gpu_ids(node_name: str, count: int) -> list[str]:
    """IDs shaped like NVIDIA's (GPU-8-4-4-4-12 hex), deterministic per node name and index."""
    return [f"GPU-{uuid.uuid5(_ID_NAMESPACE, f'{node_name}/gpu{i}')}" for i in range(count)]


def node_labels(model: GpuModel, count: int) -> dict[str, str]:
    """Labels in the style of NVIDIA GPU feature discovery, plus one saying they are simulated."""
    return {
        "nvidia.com/gpu.present": "true",
        "nvidia.com/gpu.product": model.product,
        "nvidia.com/gpu.count": str(count),
        "nvidia.com/gpu.memory": str(model.memory_mib),
        "nvidia.com/gpu.family": model.family,
        "docker2k8s/gpu.simulated": "true",
    }
