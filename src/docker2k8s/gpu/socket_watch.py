"""Wake the plugin when sockets in the device-plugin directory come and go.

A restarting kubelet empties the directory (our socket goes too) and creates a new kubelet.sock; the
plugin must then serve again and re-register. NVIDIA's plugin watches the directory with fsnotify;
here Linux inotify (through libc, no extra package) wakes us, and the decision is always taken by
comparing file identities, so a missed event or a system without inotify only costs a poll interval.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import os
import select
import time
from pathlib import Path

log = logging.getLogger(__name__)

_IN_MOVED_FROM, _IN_MOVED_TO, _IN_CREATE, _IN_DELETE = 0x40, 0x80, 0x100, 0x200
_IN_NONBLOCK, _IN_CLOEXEC = 0o4000, 0o2000000
_WATCH_MASK = _IN_MOVED_FROM | _IN_MOVED_TO | _IN_CREATE | _IN_DELETE

FileIdentity = tuple[int, int, int]  # device, inode, ctime: a re-created file differs


def identity(path: Path) -> FileIdentity | None:
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return None
    return (st.st_dev, st.st_ino, st.st_ctime_ns)


class DirectoryWatch:
    """wait() returns early when an entry of `directory` is created, deleted or moved."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._fd: int | None = None
        self._watched = False
        libc_name = ctypes.util.find_library("c")
        try:
            libc = ctypes.CDLL(libc_name, use_errno=True)
            fd = libc.inotify_init1(_IN_NONBLOCK | _IN_CLOEXEC)
        except (OSError, AttributeError):
            fd = -1
        if fd < 0:
            log.info("inotify unavailable; polling %s instead", directory)
            return
        self._libc, self._fd = libc, fd

    def _ensure_watch(self) -> None:
        # The directory may appear after we start (the kubelet makes it): watch once it exists.
        if self._fd is None or self._watched or not self.directory.is_dir():
            return
        wd = self._libc.inotify_add_watch(self._fd, os.fsencode(self.directory), _WATCH_MASK)
        self._watched = wd >= 0
        if not self._watched:
            log.warning("cannot watch %s (errno %d); polling", self.directory, ctypes.get_errno())

    def wait(self, timeout: float) -> None:
        self._ensure_watch()
        if self._fd is None or not self._watched:
            time.sleep(timeout)
            return
        ready, _, _ = select.select([self._fd], [], [], timeout)
        if ready:
            time.sleep(0.05)  # let a burst of events (delete then create) land before we look
            try:
                while os.read(self._fd, 65536):
                    pass
            except BlockingIOError:
                pass

    def close(self) -> None:
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None
