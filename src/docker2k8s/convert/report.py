"""What each input field became and why; what has no Kubernetes equivalent."""

from dataclasses import dataclass, field
from enum import StrEnum

from rich.console import Console
from rich.markup import escape
from rich.table import Table


class Outcome(StrEnum):
    CONVERTED = "converted"  # has a Kubernetes equivalent, used
    NOTE = "note"  # nothing to write, but the reader should know why
    WARNING = "warning"  # converted, with a difference in behaviour worth reading
    UNCONVERTED = "unconverted"  # no equivalent: dropped from the output, counted by --strict


@dataclass(frozen=True)
class Entry:
    source: str  # "web" (a Compose service), "docker run", "compose file"
    field: str  # the input as written: "ports[0] 8080:80", "--gpus all"
    became: str  # the Kubernetes side: "Service web port 80", "-" when nothing
    why: str
    outcome: Outcome


@dataclass
class Report:
    entries: list[Entry] = field(default_factory=list)

    def converted(self, source: str, field_: str, became: str, why: str = "") -> None:
        self.entries.append(Entry(source, field_, became, why, Outcome.CONVERTED))

    def note(self, source: str, field_: str, why: str, became: str = "-") -> None:
        self.entries.append(Entry(source, field_, became, why, Outcome.NOTE))

    def warn(self, source: str, field_: str, became: str, why: str) -> None:
        self.entries.append(Entry(source, field_, became, why, Outcome.WARNING))

    def unconverted(self, source: str, field_: str, why: str) -> None:
        self.entries.append(Entry(source, field_, "-", why, Outcome.UNCONVERTED))

    def of(self, outcome: Outcome) -> list[Entry]:
        return [e for e in self.entries if e.outcome == outcome]

    def render(self, console: Console) -> None:
        styles = {
            Outcome.CONVERTED: "green",
            Outcome.NOTE: "cyan",
            Outcome.WARNING: "yellow",
            Outcome.UNCONVERTED: "bold red",
        }
        table = Table(title="docker2k8s conversion report", show_lines=False, expand=False)
        for column in ("source", "input", "became", "why", ""):
            table.add_column(column, overflow="fold")
        for e in self.entries:
            style = styles[e.outcome]
            cells = (escape(c) for c in (e.source, e.field, e.became, e.why))
            table.add_row(*cells, f"[{style}]{e.outcome}[/]")
        console.print(table)
        counts = ", ".join(f"{len(self.of(o))} {o}" for o in Outcome)
        console.print(f"[bold]{counts}[/]")
