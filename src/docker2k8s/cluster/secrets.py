"""Secrets d2k makes in the cluster from values it generates (registry password, webhook
certificates): applied with their namespace, never written to a file."""

from __future__ import annotations

import json

from .provider import Provider


def apply_secret(
    provider: Provider, namespace: str, name: str, data: dict[str, str], kind: str = "Opaque"
) -> None:
    """Create or replace the Secret `namespace/name` holding `data` (plain strings)."""
    manifest = {
        "apiVersion": "v1",
        "kind": "List",
        "items": [
            {"apiVersion": "v1", "kind": "Namespace", "metadata": {"name": namespace}},
            {
                "apiVersion": "v1",
                "kind": "Secret",
                "type": kind,
                "metadata": {"name": name, "namespace": namespace},
                "stringData": data,
            },
        ],
    }
    provider.kubectl("apply", "-f", "-", stdin=json.dumps(manifest))
