"""Workshop clusters: providers (local, kind, external) behind one interface, and what runs on
all of them.

`up` records which provider it uses, lets the provider bring its nodes up, then runs the shared
actions (actions.ACTIONS). Every later command (`status`, `down`, `images load`) works on the
recorded provider.
"""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from docker2k8s.errors import D2KError

from . import record
from .provider import ComponentHealth, Provider

PROVIDERS = ("auto", "local", "kind", "external")


def get_provider(name: str = "auto") -> Provider:
    """The provider called `name`. `auto` is the one `up` recorded, so a shell or a notebook
    kernel with another PATH finds the same cluster; with none recorded, kind when it can work
    here, else local."""
    from .external import ExternalProvider
    from .kind import KindProvider, kind_usable
    from .local import LocalProvider

    if name == "auto":
        recorded = record.provider()
        if recorded in PROVIDERS and recorded != "auto":
            return get_provider(recorded)
        usable, _reason = kind_usable()
        return KindProvider() if usable else LocalProvider()
    if name == "local":
        return LocalProvider()
    if name == "kind":
        return KindProvider()
    if name == "external":
        return ExternalProvider()
    raise D2KError(f"Unknown cluster provider {name!r}.", f"choose one of {', '.join(PROVIDERS)}")


def current() -> Provider:
    """The provider of the cluster `d2k cluster up` made last."""
    name = record.provider()
    if name is None:
        raise D2KError("No workshop cluster has been made on this machine.", "d2k cluster up")
    return get_provider(name)


def up(name: str = "auto", console: Console | None = None) -> Provider:
    """Create or start the cluster (harmless when it runs) and return its provider."""
    from .actions import ACTIONS

    console = console or Console(stderr=True)
    provider = get_provider(name)
    # First, so `down` can clean up after an interrupted `up`; an external cluster's context
    # and registry (chosen by `d2k cluster use`) are kept.
    same = record.provider() == provider.name
    record.save(provider.name, record.settings() if same else None)
    provider.up(console)
    for action in ACTIONS:
        if provider.managed or not action.managed_only:
            action.execute(provider, console)
    console.print(f"[green]cluster ready[/] ({provider.name}): kubectl context docker2k8s")
    return provider


def use(
    context: str,
    source: Path,
    registry: str | None,
    namespace_prefix: str = "",
    install_addons: bool = False,
    console: Console | None = None,
) -> Provider:
    """Point the workshop at an existing cluster (the `external` provider) and check it; with
    `install_addons`, install the add-ons for what it lacks."""
    from . import external

    external.use(context, source, registry, namespace_prefix, install_addons)
    return up("external", console)


def down(purge: bool = False, console: Console | None = None) -> None:
    """Stop the recorded cluster. Once it is gone (`purge`, or kind, whose `down` deletes it),
    its kubeconfig entries and the record go too."""
    from . import kubeconfig

    console = console or Console(stderr=True)
    provider = current()
    ours = kubeconfig.load(provider.kubeconfig())  # read first: kind deletes it with the cluster
    provider.down(console, purge=purge)
    if purge or not provider.exists():
        # A context left behind would stay current and point at nothing; kubectl, the labs and
        # the grader would all pick it up.
        kubeconfig.remove_entries(kubeconfig.user_kubeconfig(), ours)
        record.clear()


def status(provider: Provider) -> list[ComponentHealth]:
    """The provider's own parts, then what every cluster must have (nodes, add-ons, DNS)."""
    from . import health

    rows = provider.status()
    return rows + health.cluster_rows(provider)


__all__ = [
    "PROVIDERS",
    "ComponentHealth",
    "Provider",
    "current",
    "down",
    "get_provider",
    "status",
    "up",
    "use",
]
