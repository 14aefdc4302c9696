"""A throwaway MariaDB server from Debian's mariadb-server, on a temp datadir and a loopback
port, for the chat backend's tests."""

from __future__ import annotations

import getpass
import shutil
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

import pymysql

from .procs import free_port

NEEDED = ("mariadbd", "mariadb-install-db")


def _binary(name: str) -> str:
    for candidate in (shutil.which(name), f"/usr/sbin/{name}", f"/usr/bin/{name}"):
        if candidate and Path(candidate).exists():
            return candidate
    raise RuntimeError(
        f"{name} not found: install Debian's mariadb-server "
        "(apt-get install mariadb-server) to run the chat tests"
    )


@dataclass
class MariaDB:
    proc: subprocess.Popen
    port: int
    socket: Path
    password: str
    log: Path

    def root(self) -> pymysql.Connection:
        return pymysql.connect(unix_socket=str(self.socket), user="root", autocommit=True)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_mariadb(tmp: Path, password: str = "chat-test-pw") -> MariaDB:
    mariadbd, install = (_binary(n) for n in NEEDED)
    datadir, sock, log = tmp / "datadir", tmp / "mysqld.sock", tmp / "mariadb.log"
    user = getpass.getuser()
    subprocess.run(
        [
            install,
            "--no-defaults",
            f"--datadir={datadir}",
            f"--user={user}",
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
        ],
        check=True,
        capture_output=True,
    )
    port = free_port()
    proc = subprocess.Popen(
        [
            mariadbd,
            "--no-defaults",
            f"--datadir={datadir}",
            f"--socket={sock}",
            f"--port={port}",
            "--bind-address=127.0.0.1",
            f"--user={user}",
            f"--pid-file={tmp / 'mysqld.pid'}",
            f"--log-error={log}",
            "--skip-log-bin",
            "--innodb-buffer-pool-size=32M",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    db = MariaDB(proc, port, sock, password, log)
    deadline = time.monotonic() + 60
    while True:
        if proc.poll() is not None:
            raise RuntimeError(f"mariadbd exited ({proc.returncode}): {log.read_text()[-2000:]}")
        try:
            conn = db.root()
            break
        except pymysql.err.OperationalError:
            if time.monotonic() > deadline:
                db.stop()
                raise TimeoutError(f"mariadbd did not start: {log.read_text()[-2000:]}") from None
            time.sleep(0.2)
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE chat CHARACTER SET utf8mb4")
        cur.execute("CREATE USER 'chat'@'127.0.0.1' IDENTIFIED BY %s", (password,))
        cur.execute("GRANT ALL ON chat.* TO 'chat'@'127.0.0.1'")
    conn.close()
    return db
