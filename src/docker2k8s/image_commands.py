"""`d2k images ...` commands."""

import typer

app = typer.Typer(
    help="Build the workshop's images and load them into the cluster.", no_args_is_help=True
)
