"""``genrecast cluster run``: the daemon over a Ray cluster (the ``[cluster]`` extra).

Nothing here imports Ray or the cluster room until the command runs, so ``genrecast`` works
without the extra, and a user who lacks it gets one line naming it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

Address = Annotated[str, typer.Option(
    "--address", help="The Ray head, HOST:PORT (e.g. 10.0.0.5:6379), or auto for the cluster "
    "this host joined with `ray start`.")]


def register(app: typer.Typer) -> None:
    cluster = typer.Typer(name="cluster", no_args_is_help=True,
                          help="Run stations over a Ray cluster (pip install 'genrecast[cluster]').")
    app.add_typer(cluster)

    @cluster.command("run")
    def cluster_run_cmd(
        address: Address,
        config: Annotated[Path | None, typer.Option(
            "--config", "-c", help="The TOML configuration of `genrecast run` (sources, model, "
            "decisions, outputs).")] = None,
        source: Annotated[list[str] | None, typer.Option(
            "--source", "-s", help="[NAME=]url:URL | file:PATH (repeatable; replaces the "
            "configuration's sources).")] = None,
        model: Annotated[Path | None, typer.Option("--model", "-m",
                                                   help="A .tflite model.")] = None,
        publish: Annotated[str, typer.Option(
            "--publish", help="ZeroMQ endpoint to bind here for every shard's events.")] = "",
        shards: Annotated[int, typer.Option(
            "--shards", min=0, help="Groups the sources are split into, one Ray actor each "
            "(0: one per 25 sources, at least 4).")] = 0,
    ) -> None:
        """Run the stations of a configuration over a Ray cluster's nodes, as one daemon."""
        from genrecast.daemon.cluster.run import run_cluster
        from genrecast.daemon.service.config_file import load_settings

        overrides = {"sources": list(source) if source else None,
                     "model.path": str(model) if model else None,
                     "publish.endpoint": publish or None}
        run_cluster(load_settings(config, overrides), address, shards)
