"""`d2k convert ...` commands."""

import typer

app = typer.Typer(
    help="Convert `docker run` commands and Compose files to Kubernetes manifests.",
    no_args_is_help=True,
)
