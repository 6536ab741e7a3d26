"""`python -m facade` is the `facade` command."""

from facade.cli import app

app(prog_name="facade")
