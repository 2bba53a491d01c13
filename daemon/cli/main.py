"""The ``genrecast`` command: assembles the command groups and turns user errors into one line.

Daemon commands live in ``daemon_commands`` and service commands in ``service_commands``; training commands
arrive through the ``genrecast.cli_plugins`` entry point (so this package never imports the
training package, and ``genrecast --help`` works without TensorFlow).
"""

from __future__ import annotations

import importlib
import logging
import sys
from importlib.metadata import entry_points

import typer
from genrecast.daemon import __version__
from genrecast.daemon.cli.cluster_commands import register as register_cluster_commands
from genrecast.daemon.cli.daemon_commands import register as register_daemon_commands
from genrecast.daemon.cli.service_commands import register as register_service_commands
from genrecast.daemon.errors import EXIT_SOFTWARE, UserError

log = logging.getLogger(__name__)

app = typer.Typer(
    name="genrecast",
    help="Real-time music-genre classification: live audio in, genre events out over ZeroMQ.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # help texts are plain: rich markup ate "[mqtt]" and "[web]"
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"genrecast {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    verbose: int = typer.Option(0, "--verbose", "-v", count=True, help="More logging (-vv: debug)."),
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    level = logging.WARNING - 10 * min(verbose, 2)
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s",
                        stream=sys.stderr)


def _load_plugins() -> None:
    for ep in entry_points(group="genrecast.cli_plugins"):
        try:
            ep.load()(app)
        except ImportError as exc:  # a plugin whose extra is not installed
            log.debug("command plugin %s unavailable: %s", ep.name, exc)


register_daemon_commands(app)
register_service_commands(app)
register_cluster_commands(app)
_load_plugins()


def _usage_error_types() -> tuple[type[Exception], ...]:
    """Typer ≥ 0.29 carries its own click (typer.TyperException); older ones use click itself."""
    found: list[type[Exception]] = []
    for module, name in (("typer", "TyperException"), ("click.exceptions", "ClickException")):
        try:
            found.append(getattr(importlib.import_module(module), name))
        except (ImportError, AttributeError):
            continue
    return tuple(found)


def main(argv: list[str] | None = None) -> int:
    """Entry point: user mistakes print ``error: ...`` and exit with their code, never a traceback."""
    try:
        app(args=argv, standalone_mode=False)
    except UserError as exc:
        typer.echo(f"error: {exc}", err=True)
        return exc.exit_code
    except typer.Exit as exc:
        return int(exc.exit_code or 0)
    except typer.Abort:
        typer.echo("aborted", err=True)
        return 130
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # usage errors (bad option, missing argument) and genuine bugs
        if isinstance(exc, _usage_error_types()):
            exc.show()  # type: ignore[attr-defined]
            return int(exc.exit_code)  # type: ignore[attr-defined]
        log.exception("internal error")
        typer.echo(f"error: internal error ({type(exc).__name__}: {exc}); please report it",
                   err=True)
        return EXIT_SOFTWARE
    return 0


if __name__ == "__main__":
    sys.exit(main())
