"""Put GPU feature-discovery style labels on this plugin's node through the Kubernetes API.

The plugin does it itself (not the cluster code) so the labels come with the DaemonSet on any
cluster, kind or local, exactly as NVIDIA's GPU feature discovery pod labels its own node. It needs
in-cluster credentials and RBAC to get and patch nodes (cluster/addons/gpu/daemonset.yaml).
"""

from __future__ import annotations

import logging
import os
import threading

log = logging.getLogger(__name__)


def apply_labels(node_name: str, labels: dict[str, str]) -> None:
    """Merge `labels` into the node's labels; raises on any API or credential error."""
    from kubernetes import client, config  # imported here: only pods that label nodes need it

    if os.environ.get("KUBERNETES_SERVICE_HOST"):
        config.load_incluster_config()  # in a pod: the ServiceAccount token
    else:
        config.load_kube_config()  # by hand outside a pod, with --label-node yes
    client.CoreV1Api().patch_node(node_name, {"metadata": {"labels": labels}})


def label_in_background(
    node_name: str, labels: dict[str, str], stop: threading.Event, attempts: int = 10
) -> threading.Thread:
    """Label the node without delaying device registration; retry while the API server comes up."""

    def run() -> None:
        delay = 1.0
        for attempt in range(1, attempts + 1):
            try:
                apply_labels(node_name, labels)
            except Exception as error:  # any failure is logged and retried, never fatal
                log.warning("labelling node %s failed (attempt %d): %s", node_name, attempt, error)
                if stop.wait(delay):
                    return
                delay = min(delay * 2, 30.0)
            else:
                log.info("labelled node %s: %s", node_name, labels)
                return
        log.error(
            "gave up labelling node %s; check that the plugin's ServiceAccount may patch nodes",
            node_name,
        )

    thread = threading.Thread(target=run, name="node-labels", daemon=True)
    thread.start()
    return thread
