"""`d2k cluster repair` brings etcd back from its space alarm and from a full disk, and the
supervisor keeps logs from filling the disk. Each runs a private etcd (the cluster's own build,
with its TLS setup) under the real supervisor, on ports of its own."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import urllib.error
from collections.abc import Iterator
from pathlib import Path

import pytest
from polling import wait_for

from docker2k8s import supervisor
from docker2k8s.cluster import gobuild
from docker2k8s.cluster.local import pki, repair
from docker2k8s.cluster.local.layout import Layout


def _free_ports(count: int) -> list[int]:
    import socket

    sockets = [socket.socket() for _ in range(count)]
    for s in sockets:
        s.bind(("127.0.0.1", 0))
    ports = [s.getsockname()[1] for s in sockets]
    for s in sockets:
        s.close()
    return ports


class PrivateEtcd:
    """etcd with the local cluster's TLS flags, supervised like the cluster's own."""

    def __init__(self, root: Path, quota: int) -> None:
        self.layout = Layout(state=root / "state", run=root / "run")
        self.layout.logs.mkdir(parents=True)
        self.layout.pids.mkdir(parents=True)
        pki.ensure_pki(self.layout.pki, "127.0.0.1")
        client, peer = _free_ports(2)
        self.url = f"https://127.0.0.1:{client}"
        p = self.layout.pki
        argv = [
            str(gobuild.ETCD.binary("etcd")), "--name=private",
            f"--data-dir={self.layout.etcd_data}",
            f"--listen-client-urls={self.url}", f"--advertise-client-urls={self.url}",
            f"--listen-peer-urls=https://127.0.0.1:{peer}",
            f"--initial-advertise-peer-urls=https://127.0.0.1:{peer}",
            f"--initial-cluster=private=https://127.0.0.1:{peer}",
            f"--cert-file={p / 'etcd-server.crt'}", f"--key-file={p / 'etcd-server.key'}",
            "--client-cert-auth=true", f"--trusted-ca-file={p / 'etcd-ca.crt'}",
            f"--peer-cert-file={p / 'etcd-peer.crt'}", f"--peer-key-file={p / 'etcd-peer.key'}",
            "--peer-client-cert-auth=true", f"--peer-trusted-ca-file={p / 'etcd-ca.crt'}",
            f"--quota-backend-bytes={quota}",
        ]  # fmt: skip
        spec = root / "spec.json"
        spec.write_text(
            json.dumps(
                {
                    "components": [
                        {
                            "name": "etcd",
                            "argv": argv,
                            "env": {},
                            "log": str(self.layout.logs / "etcd.log"),
                            "pidfile": str(self.layout.pids / "etcd.pid"),
                        }
                    ]
                }
            )
        )
        self.supervisor = subprocess.Popen(
            [sys.executable, "-m", supervisor.__name__, str(spec)],
            stdout=open(self.layout.logs / "supervisor.log", "ab"),  # noqa: SIM115
            stderr=subprocess.STDOUT,
        )
        self.client = repair.Etcd(self.layout.pki, self.url)
        try:
            wait_for("the private etcd", lambda: self.client.call("maintenance/status", {}, 5), 120)
        except AssertionError as error:
            log = (self.layout.logs / "etcd.log").read_text()[-3000:]
            self.stop()
            raise AssertionError(f"{error}\netcd's log:\n{log}") from None

    def stop(self) -> None:
        self.supervisor.terminate()
        self.supervisor.wait(30)


@pytest.fixture
def etcd(tmp_path: Path) -> Iterator[PrivateEtcd]:
    server = PrivateEtcd(tmp_path, quota=8 * 2**20)
    yield server
    server.stop()


def _fill(etcd: repair.Etcd, value: bytes) -> str:
    """Overwrite one key (as the API server rewrites leases and status) until etcd refuses."""
    for _ in range(10_000):
        try:
            etcd.put("/registry/leases/node", value)
        except urllib.error.HTTPError as error:  # etcd answers: "database space exceeded"
            return error.read().decode()
        except OSError as error:  # etcd died on the full disk mid-request
            return str(error)
    raise AssertionError("etcd never ran out of space")


def test_repair_clears_the_space_alarm(etcd: PrivateEtcd) -> None:
    refused = _fill(etcd.client, os.urandom(256 * 1024))
    assert "space exceeded" in refused, refused
    assert [a["alarm"] for a in etcd.client.alarms()] == ["NOSPACE"]
    with pytest.raises(urllib.error.HTTPError):
        etcd.client.put("/registry/pods/default/new", b"refused while the alarm is on")

    report = repair.repair(etcd.layout, etcd_url=etcd.url)

    assert any("alarm NOSPACE cleared" in line for line in report), report
    assert etcd.client.alarms() == []
    etcd.client.put("/registry/pods/default/new", b"accepted again")


def test_repair_frees_a_full_disk_and_etcd_comes_back(tmp_path: Path) -> None:
    """The state root on a small disk of its own (a tmpfs): a big log fills it, etcd cannot
    write and dies; repair trims the log, the supervisor restarts etcd, writes work again."""
    root = tmp_path / "disk"
    root.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=160m", "tmpfs", str(root)], check=True)
    try:
        server = PrivateEtcd(root, quota=64 * 2**20)
        try:
            filler = server.layout.logs / "kubelet.log"
            with open(filler, "wb") as out:  # the disk fills up with a component's log
                try:
                    while True:
                        out.write(os.urandom(2**20))
                        out.flush()
                except OSError:
                    pass
            refused = _fill(server.client, os.urandom(64 * 1024))
            assert refused, "etcd wrote to a full disk"

            report = repair.repair(server.layout, etcd_url=server.url, wait=90)

            assert filler.stat().st_size <= repair.KEEP_LOG_BYTES
            assert any(line.startswith("disk:") for line in report), report
            wait_for(
                "etcd to accept writes again",
                lambda: server.client.put("/registry/pods/default/after", b"ok") or True,
                90,
            )
        finally:
            server.stop()
    finally:
        subprocess.run(["umount", "-l", str(root)], check=False)


def test_supervisor_rotates_a_growing_log(tmp_path: Path) -> None:
    """A component writes through its O_APPEND descriptor; rotation keeps the older part as
    <log>.1 and the component goes on writing at the start of the emptied log."""
    log = tmp_path / "component.log"
    writer = subprocess.Popen(
        [
            sys.executable,
            "-u",
            "-c",
            "import time\nwhile True:\n print('x' * 99)\n time.sleep(0.001)",
        ],
        stdout=open(log, "ab"),  # noqa: SIM115 - the child holds it
    )
    try:
        wait_for("the log to grow", lambda: log.stat().st_size > 200_000, 30, 0.1)
        assert supervisor.rotate(log, limit=100_000)
        assert log.with_name("component.log.1").stat().st_size > 100_000
        time.sleep(0.5)
        size = log.stat().st_size
        assert 0 < size < 100_000, size  # written again, from the start
        assert not supervisor.rotate(log, limit=100_000)
    finally:
        writer.kill()
        writer.wait()
