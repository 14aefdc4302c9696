"""docker run commands and Compose files -> Kubernetes manifests, every field explained.

result = convert_compose(Path("compose.yaml"))
print(to_yaml(result.objects)); result.report.render(console)
"""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from .compose import load_compose
from .docker_run import project_from_command
from .errors import ConvertError
from .manifests import convert_project
from .output import to_yaml, write_files
from .project import Options
from .report import Outcome, Report

__all__ = [
    "ConvertError",
    "Options",
    "Outcome",
    "Report",
    "Result",
    "convert_compose",
    "convert_docker_run",
    "to_yaml",
    "write_files",
]


@dataclass
class Result:
    objects: list[dict[str, Any]]
    report: Report = field(default_factory=Report)

    @property
    def unconverted(self) -> int:
        return len(self.report.of(Outcome.UNCONVERTED))


def convert_compose(
    path: Path | list[Path],
    options: Options | None = None,
    profiles: list[str] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Result:
    """Convert one Compose file, or several merged in order like `docker compose -f A -f B`."""
    report = Report()
    paths = [Path(p) for p in path] if isinstance(path, list) else Path(path)
    project = load_compose(paths, report, profiles, environ)
    return Result(convert_project(project, options or Options(), report), report)


def convert_docker_run(
    command: str | Sequence[str],
    options: Options | None = None,
    environ: Mapping[str, str] | None = None,
    cwd: Path | None = None,
) -> Result:
    """`command` is a string (split like a shell) or the words after `docker run`."""
    report = Report()
    options = options or Options()
    project, kind = project_from_command(command, report, environ, cwd, options.workload)
    if options.workload is None and kind == "Pod":
        options = replace(options, workload="Pod")
    # a Deployment-like command stays open: a database with a named volume is a StatefulSet
    return Result(convert_project(project, options, report), report)
