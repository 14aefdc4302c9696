"""`d2k cluster repair`: the way back from a full disk or a full etcd.

When the disk fills, etcd cannot write and exits; the supervisor restarts it and it exits again.
When etcd's own database reaches its quota it raises the NOSPACE alarm and refuses every write:
the API server then fails every create and update. The recovery is the one etcd's maintenance
guide gives, done for the reader: free disk (the cluster's own logs first), then compact away
old revisions, defragment to give the space back, and clear the alarm.

etcd is reached through its HTTP/JSON gateway with the etcd-admin client certificate.
"""

from __future__ import annotations

import base64
import json
import ssl
import time
import urllib.error
import urllib.request
from pathlib import Path

from docker2k8s.errors import D2KError

from .components import ETCD_URL
from .host import free_disk
from .layout import Layout

KEEP_LOG_BYTES = 2**20


class Etcd:
    """The few maintenance calls `repair` needs, over etcd's JSON gateway."""

    def __init__(self, pki: Path, url: str = ETCD_URL) -> None:
        self.url = url
        self.context = ssl.create_default_context(cafile=str(pki / "etcd-ca.crt"))
        self.context.load_cert_chain(pki / "etcd-admin.crt", pki / "etcd-admin.key")

    def call(self, path: str, body: dict, timeout: float = 60) -> dict:
        request = urllib.request.Request(
            f"{self.url}/v3/{path}", data=json.dumps(body).encode(), method="POST"
        )
        with urllib.request.urlopen(request, timeout=timeout, context=self.context) as resp:
            return json.loads(resp.read() or b"{}")

    def alarms(self) -> list[dict]:
        return self.call("maintenance/alarm", {"action": "GET"}).get("alarms", [])

    def put(self, key: str, value: bytes) -> dict:
        b64 = base64.b64encode
        return self.call(
            "kv/put", {"key": b64(key.encode()).decode(), "value": b64(value).decode()}
        )

    def repair(self) -> list[str]:
        """Compact to the current revision, defragment, disarm every alarm."""
        status = self.call("maintenance/status", {})
        revision = int(status["header"]["revision"])
        before = int(status.get("dbSize", 0))
        done = []
        try:
            self.call("kv/compaction", {"revision": revision, "physical": True}, timeout=300)
            done.append(f"etcd compacted to revision {revision}")
        except urllib.error.HTTPError as error:  # already compacted that far
            if b"compacted" not in error.read():
                raise
        self.call("maintenance/defragment", {}, timeout=300)
        after = int(self.call("maintenance/status", {}).get("dbSize", 0))
        done.append(f"etcd defragmented: {before / 2**20:.1f} MiB -> {after / 2**20:.1f} MiB")
        for alarm in self.alarms():
            self.call("maintenance/alarm", {"action": "DEACTIVATE", **alarm})
            done.append(f"etcd alarm {alarm.get('alarm', '?')} cleared")
        return done


def trim_logs(logs: Path) -> int:
    """Delete rotated logs and keep only the last MiB of each log; return the bytes freed."""
    freed = 0
    for old in logs.glob("*.log.1"):
        freed += old.stat().st_size
        old.unlink()
    for log in logs.glob("*.log"):
        size = log.stat().st_size
        if size > KEEP_LOG_BYTES:
            with open(log, "r+b") as fh:
                fh.seek(-KEEP_LOG_BYTES, 2)
                tail = fh.read()
                fh.seek(0)
                fh.write(tail)
                fh.truncate()
            freed += size - KEEP_LOG_BYTES
    return freed


def _usage(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file() and not f.is_symlink())


def repair(layout: Layout, etcd_url: str = ETCD_URL, wait: float = 60) -> list[str]:
    report = [f"logs: {trim_logs(layout.logs) / 2**20:.1f} MiB freed in {layout.logs}"]
    etcd = Etcd(layout.pki, etcd_url)
    # etcd may be crash-looping on the full disk: the supervisor restarts it within 30 s.
    deadline = time.monotonic() + wait
    while True:
        try:
            report += etcd.repair()
            break
        except OSError as error:
            if time.monotonic() > deadline:
                raise D2KError(
                    f"etcd did not answer at {etcd.url} ({error}) after the logs were trimmed.",
                    f"free more disk space (see below), then run `d2k cluster repair` again; "
                    f"its log is {layout.logs / 'etcd.log'}",
                ) from None
            time.sleep(2)
    ok, detail = free_disk(layout)
    report.append(f"disk: {detail}" + ("" if ok else " - still too little"))
    for name in ("containerd", "volumes", "etcd", "logs", "kubelet"):
        path = layout.state / name
        if path.exists():
            report.append(f"  {path}: {_usage(path) / 2**30:.2f} GiB")
    if not ok:
        report.append(
            "free more: delete unused images (`docker image prune`), finished Pods and their "
            "volumes (`kubectl delete pvc ...`), or move the state with D2K_CLUSTER_STATE_DIR"
        )
    return report
