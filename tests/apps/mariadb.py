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
    tmp: Path
    port: int
    password: str
    proc: subprocess.Popen | None = None

    @property
    def socket(self) -> Path:
        return self.tmp / "mysqld.sock"

    @property
    def log(self) -> Path:
        return self.tmp / "mariadb.log"

    def root(self) -> pymysql.Connection:
        return pymysql.connect(unix_socket=str(self.socket), user="root", autocommit=True)

    def start(self) -> None:
        """Run mariadbd on the data directory and port, until it takes connections."""
        user = getpass.getuser()
        self.proc = subprocess.Popen(
            [
                _binary("mariadbd"),
                "--no-defaults",
                f"--datadir={self.tmp / 'datadir'}",
                f"--socket={self.socket}",
                f"--port={self.port}",
                "--bind-address=127.0.0.1",
                f"--user={user}",
                f"--pid-file={self.tmp / 'mysqld.pid'}",
                f"--log-error={self.log}",
                "--skip-log-bin",
                "--innodb-buffer-pool-size=32M",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + 60
        while True:
            if self.proc.poll() is not None:
                log = self.log.read_text()[-2000:]
                raise RuntimeError(f"mariadbd exited ({self.proc.returncode}): {log}")
            try:
                self.root().close()
                return
            except pymysql.err.OperationalError:
                if time.monotonic() > deadline:
                    self.stop()
                    log = self.log.read_text()[-2000:]
                    raise TimeoutError(f"mariadbd did not start: {log}") from None
                time.sleep(0.2)

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()


def start_mariadb(tmp: Path, password: str = "chat-test-pw") -> MariaDB:
    subprocess.run(
        [
            _binary("mariadb-install-db"),
            "--no-defaults",
            f"--datadir={tmp / 'datadir'}",
            f"--user={getpass.getuser()}",
            "--auth-root-authentication-method=socket",
            "--skip-test-db",
        ],
        check=True,
        capture_output=True,
    )
    db = MariaDB(tmp, free_port(), password)
    db.start()
    with db.root() as conn, conn.cursor() as cur:
        cur.execute("CREATE DATABASE chat CHARACTER SET utf8mb4")
        cur.execute("CREATE USER 'chat'@'127.0.0.1' IDENTIFIED BY %s", (password,))
        cur.execute("GRANT ALL ON chat.* TO 'chat'@'127.0.0.1'")
    return db
