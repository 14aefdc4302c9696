"""`d2k cluster ...` commands."""

import typer

app = typer.Typer(help="Create, inspect and remove the workshop cluster.", no_args_is_help=True)
