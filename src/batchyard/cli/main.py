"""The ``batchyard`` command."""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
from pathlib import Path
from typing import Annotated

import typer
import uvicorn
from rich.console import Console

from batchyard.config import credentials as creds
from batchyard.config.settings import Settings
from batchyard.server import build

app = typer.Typer(help="batchyard: a self-hosted batch service speaking the Tencent Cloud Batch API.")
credentials_app = typer.Typer(help="API key pairs.")
app.add_typer(credentials_app, name="credentials")
console = Console()

SWITCH_INTERVAL_S = 0.0005

DataDir = Annotated[Path, typer.Option("--data-dir", help="Where state, logs and cos:// objects live.")]


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    data_dir: DataDir = Path(".batchyard"),
    config: Annotated[Path | None, typer.Option(help="TOML file overriding the defaults.")] = None,
) -> None:
    """Run the API, the scheduler and the local executor in one process."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = Settings.load(config, host=host, port=port, data_dir=data_dir)
    application, _ = build(settings)
    # Everything loaded so far lives as long as the server: keep it out of the collector's way, so
    # full collections (and their pauses in request latency) only walk what requests allocate.
    gc.collect()
    gc.freeze()
    # The scheduler's tick runs in a worker thread; a short switch interval lets the event loop,
    # which reaps and starts attempts, take the GIL back within half a millisecond instead of
    # five, so nodes do not sit idle while a tick runs.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    uvicorn.run(application, host=settings.host, port=settings.port, log_level="warning")


@credentials_app.command("show")
def credentials_show(data_dir: DataDir = Path(".batchyard")) -> None:
    """Print the key pairs this server accepts."""
    pair = creds.from_environment(os.environ)
    path = creds.credentials_file(data_dir)
    if pair is not None:
        pairs = [pair]
    elif path.exists():
        pairs = creds.read_file(path)
    else:
        console.print(f"[red]no credentials yet in {path}; start `batchyard serve` once[/red]")
        raise typer.Exit(1)
    for p in pairs:
        print(json.dumps({"SecretId": p.secret_id, "SecretKey": p.secret_key, "Account": p.account}))
