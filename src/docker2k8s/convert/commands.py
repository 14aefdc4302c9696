"""`d2k convert run` and `d2k convert compose`."""

import os
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from . import Options, Result, convert_compose, convert_docker_run, to_yaml, write_files
from .errors import ConvertError
from .quantities import parse_bytes, quantity_from_bytes

app = typer.Typer(
    help="Convert `docker run` commands and Compose files to Kubernetes manifests.",
    no_args_is_help=True,
)

OutputDir = Annotated[
    Path | None,
    typer.Option("-o", "--output-dir", help="Write one YAML file per object here."),
]
Strict = Annotated[
    bool, typer.Option("--strict", help="Exit 1 when any input could not be converted.")
]
VolumeSize = Annotated[
    str,
    typer.Option("--volume-size", help="PVC size for volumes without a docker2k8s.size label."),
]
AllGpus = Annotated[
    int, typer.Option("--all-gpus", min=1, help="GPUs for `--gpus all` / count: all.")
]
WaitImage = Annotated[
    str,
    typer.Option("--wait-image", help="Image with sh and nc for the depends_on init containers."),
]
ServiceType = Annotated[
    str, typer.Option("--service-type", help="ClusterIP, NodePort or LoadBalancer.")
]
Quiet = Annotated[bool, typer.Option("--quiet", "-q", help="Do not print the report.")]


def _stderr() -> Console:
    width = None if sys.stderr.isatty() else int(os.environ.get("COLUMNS", "160"))
    return Console(stderr=True, width=width)


def _emit(result: Result, output_dir: Path | None, strict: bool, quiet: bool) -> None:
    console = _stderr()
    if not quiet:
        result.report.render(console)
    if output_dir is not None:
        paths, removed = write_files(result.objects, output_dir)
        console.print(f"wrote {len(paths)} files to {output_dir}")
        if removed:
            names = ", ".join(p.name for p in removed)
            console.print(f"removed {len(removed)} files of an earlier conversion: {names}")
    else:
        sys.stdout.write(to_yaml(result.objects))
    if strict and result.unconverted:
        console.print(
            f"[bold red]--strict: {result.unconverted} input(s) were not converted[/] "
            "(the rows marked unconverted above)"
        )
        raise typer.Exit(1)


def _check_size(size: str) -> str:
    if size and size[-2:] in ("Ki", "Mi", "Gi", "Ti", "Pi") and size[:-2].isdigit():
        return size
    return quantity_from_bytes(parse_bytes(size, "--volume-size"))


@app.command(
    "run",
    context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
)
def run(
    command: Annotated[
        list[str],
        typer.Argument(help="docker run [FLAGS] IMAGE [ARGS...] (after --); `docker run` optional"),
    ],
    output_dir: OutputDir = None,
    strict: Strict = False,
    workload: Annotated[
        str | None,
        typer.Option("--as", help="Pod, Deployment or StatefulSet (default: from the flags)"),
    ] = None,
    volume_size: VolumeSize = "1Gi",
    all_gpus: AllGpus = 1,
    service_type: ServiceType = "ClusterIP",
    quiet: Quiet = False,
) -> None:
    """Convert one `docker run` command: d2k convert run -- docker run --gpus all IMAGE."""
    kinds = {"pod": "Pod", "deployment": "Deployment", "statefulset": "StatefulSet"}
    if workload is not None and workload.lower() not in kinds:
        raise ConvertError(f"--as {workload}: use Pod, Deployment or StatefulSet")
    options = Options(
        volume_size=_check_size(volume_size),
        all_gpus=all_gpus,
        service_type=_service_type(service_type),
        workload=kinds[workload.lower()] if workload else None,
    )
    result = convert_docker_run(command, options)
    _emit(result, output_dir, strict, quiet)


def _service_type(value: str) -> str:
    types = {t.lower(): t for t in ("ClusterIP", "NodePort", "LoadBalancer")}
    if value.lower() not in types:
        raise ConvertError(f"--service-type {value}: use ClusterIP, NodePort or LoadBalancer")
    return types[value.lower()]


@app.command("compose")
def compose(
    files: Annotated[
        list[Path],
        typer.Argument(help="The compose file; more files are merged over it, as with -f."),
    ],
    output_dir: OutputDir = None,
    profile: Annotated[
        list[str] | None, typer.Option("--profile", help="Enable a profile (repeatable).")
    ] = None,
    strict: Strict = False,
    statefulset: Annotated[
        list[str] | None,
        typer.Option("--statefulset", help="Make this service a StatefulSet (repeatable)."),
    ] = None,
    volume_size: VolumeSize = "1Gi",
    all_gpus: AllGpus = 1,
    wait_image: WaitImage = "busybox:1.36",
    service_type: ServiceType = "ClusterIP",
    quiet: Quiet = False,
) -> None:
    """Convert every service of a Compose file."""
    options = Options(
        statefulsets=set(statefulset or []),
        volume_size=_check_size(volume_size),
        all_gpus=all_gpus,
        wait_image=wait_image,
        service_type=_service_type(service_type),
    )
    result = convert_compose(files, options, profile or [])
    _emit(result, output_dir, strict, quiet)
