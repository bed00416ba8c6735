"""The options every client command takes: where to connect, as whom, and how to print.

Declared once here so that ``--endpoint``, ``--profile``, ``--region`` and ``--output`` read the same in
every command's help.
"""

from __future__ import annotations

from typing import Annotated

import typer

from batchyard.cli.output import Output

CONNECTION = "Connection"

EndpointOption = Annotated[
    str | None,
    typer.Option(
        "--endpoint",
        envvar="BATCHYARD_ENDPOINT",
        help="host[:port] (HTTPS) or http(s)://host[:port]; default: the profile's batch.endpoint, "
        "else Tencent Cloud.",
        rich_help_panel=CONNECTION,
        show_default=False,
    ),
]
ProfileOption = Annotated[
    str | None,
    typer.Option(
        "--profile",
        help="tccli profile: ~/.tccli/NAME.credential and NAME.configure (default: $TCCLI_PROFILE, else "
        "default). Given, it also turns off the TENCENTCLOUD_* variables, as in tccli.",
        rich_help_panel=CONNECTION,
        show_default=False,
    ),
]
RegionOption = Annotated[
    str | None,
    typer.Option(
        "--region",
        help="Region (default: $TENCENTCLOUD_REGION, else the profile's).",
        rich_help_panel=CONNECTION,
        show_default=False,
    ),
]
OutputOption = Annotated[
    Output, typer.Option("--output", "-o", help="table for people, json for scripts.", case_sensitive=False)
]
