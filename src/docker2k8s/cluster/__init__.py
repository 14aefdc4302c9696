"""Workshop clusters behind one interface: `local` (built from source) and `kind`."""

from __future__ import annotations

from .backend import ClusterBackend, ComponentHealth
from .errors import ClusterError

BACKENDS = ("auto", "local", "kind")


def get_backend(name: str = "auto") -> ClusterBackend:
    """The backend called `name`; `auto` picks kind when it can work here, else local."""
    from .kind import KindBackend, kind_usable
    from .local import LocalBackend

    if name == "auto":
        usable, _reason = kind_usable()
        return KindBackend() if usable else LocalBackend()
    if name == "local":
        return LocalBackend()
    if name == "kind":
        return KindBackend()
    raise ClusterError(f"Unknown cluster backend {name!r}; choose one of {', '.join(BACKENDS)}.")


def current_backend() -> ClusterBackend:
    """The backend of the cluster that was last brought up (local when none was)."""
    from .kind import KindBackend
    from .local import LocalBackend

    kind = KindBackend()
    return kind if kind.exists() else LocalBackend()


__all__ = [
    "BACKENDS",
    "ClusterBackend",
    "ClusterError",
    "ComponentHealth",
    "current_backend",
    "get_backend",
]
