"""The ``batchyard`` command: ``serve`` runs the service; the client commands talk to any Batch endpoint.

This module is the CLI's composition root: it lists every command and which module holds it.
"""

from __future__ import annotations

import gc
import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console

from batchyard.cli import envs, jobs, logs, submit, templates

if TYPE_CHECKING:
    from batchyard.config.settings import Settings

app = typer.Typer(help="batchyard: a self-hosted batch service speaking the Tencent Cloud Batch API.")
credentials_app = typer.Typer(help="API key pairs.")
app.add_typer(credentials_app, name="credentials")
console = Console()

CLIENT = "Client (any Batch endpoint, with tccli's credentials, region and profiles)"
app.command("submit", rich_help_panel=CLIENT)(submit.submit)
app.command("jobs", rich_help_panel=CLIENT)(jobs.list_jobs)
app.command("job", rich_help_panel=CLIENT)(jobs.show_job)
app.command("logs", rich_help_panel=CLIENT)(logs.logs)
app.command("terminate", rich_help_panel=CLIENT)(jobs.terminate)
app.command("retry", rich_help_panel=CLIENT)(jobs.retry)
app.command("delete", rich_help_panel=CLIENT)(jobs.delete)
app.command("envs", rich_help_panel=CLIENT)(envs.list_envs)
app.command("env", rich_help_panel=CLIENT)(envs.show_env)
app.command("templates", rich_help_panel=CLIENT)(templates.list_templates)

SWITCH_INTERVAL_S = 0.0005

DataDir = Annotated[Path, typer.Option("--data-dir", help="Where state, logs and cos:// objects live.")]
TlsCert = Annotated[Path | None, typer.Option(help="PEM certificate (chain): serve HTTPS. Needs --tls-key.")]
TlsKey = Annotated[Path | None, typer.Option(help="PEM private key of --tls-cert.")]


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    data_dir: DataDir = Path(".batchyard"),
    config: Annotated[Path | None, typer.Option(help="TOML file overriding the defaults.")] = None,
    tls_cert: TlsCert = None,
    tls_key: TlsKey = None,
    executor: Annotated[
        str | None, typer.Option(help="Where attempts run: local (this machine) or slurm (a cluster).")
    ] = None,
    slurm_partition: Annotated[str | None, typer.Option(help="The Slurm partition nodes go to.")] = None,
) -> None:
    """Run the API, the scheduler and the executor (this machine, or a Slurm cluster) in one process."""
    # Imported here: the server's modules take a second to load, which the client commands need not pay.
    import uvicorn

    from batchyard.server import build

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    tls_flags = _tls_flags(tls_cert, tls_key)
    slurm = None if slurm_partition is None else {"partition": slurm_partition}
    settings = _load_settings(
        config, host=host, port=port, data_dir=data_dir, tls=tls_flags, executor=executor, slurm=slurm
    )
    application, _ = build(settings)
    # Everything loaded so far lives as long as the server: keep it out of the collector's way, so
    # full collections (and their pauses in request latency) only walk what requests allocate.
    gc.collect()
    gc.freeze()
    # The scheduler's tick runs in a worker thread; a short switch interval lets the event loop,
    # which reaps and starts attempts, take the GIL back within half a millisecond instead of
    # five, so nodes do not sit idle while a tick runs.
    sys.setswitchinterval(SWITCH_INTERVAL_S)
    tls = settings.tls
    uvicorn.run(
        application,
        host=settings.host,
        port=settings.port,
        log_level="warning",
        ssl_certfile=None if tls is None else tls.cert,
        ssl_keyfile=None if tls is None else tls.key,
    )


def _tls_flags(cert: Path | None, key: Path | None) -> dict[str, Path] | None:
    """Both flags or neither: half a TLS setup must stop the start, never fall back to plain HTTP."""
    if (cert is None) != (key is None):
        raise typer.BadParameter("give both --tls-cert and --tls-key, or neither")
    if cert is None or key is None:
        return None
    return {"cert": cert, "key": key}


def _load_settings(config: Path | None, **overrides: object) -> Settings:
    """A configuration mistake (such as a missing certificate file) ends the start with what is wrong."""
    from pydantic import ValidationError

    from batchyard.config.settings import Settings

    try:
        return Settings.load(config, **overrides)
    except ValidationError as exc:
        typer.echo(f"invalid configuration: {exc}", err=True)
        raise typer.Exit(2) from exc


@credentials_app.command("show")
def credentials_show(data_dir: DataDir = Path(".batchyard")) -> None:
    """Print the key pairs this server accepts."""
    from batchyard.config import credentials as creds

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
