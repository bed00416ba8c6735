"""`python -m batchyard` is the `batchyard` command."""

from batchyard.cli.main import app

app(prog_name="batchyard")
