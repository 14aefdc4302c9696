"""Fixtures of the local provider's own tests: they look at host processes, files and rules."""

from __future__ import annotations

import pytest

from docker2k8s.cluster import Provider
from docker2k8s.cluster.local import LocalProvider


@pytest.fixture(scope="session")
def local(cluster: Provider) -> LocalProvider:
    if not isinstance(cluster, LocalProvider):
        pytest.skip(f"these tests are about the local provider; the cluster runs on {cluster.name}")
    return cluster
