"""Errors meant for users: one line naming the problem and the fix, and a distinct exit code.

Exit codes follow sysexits(3) so a systemd unit can list the ones that a restart will not fix
in ``RestartPreventExitStatus=``.
"""

from __future__ import annotations

EXIT_OK = 0
EXIT_USAGE = 64  # EX_USAGE: a command-line mistake
EXIT_DATA = 65  # EX_DATAERR: input data is malformed (bad audio, bad npz, NaN samples)
EXIT_NO_INPUT = 66  # EX_NOINPUT: a file, device or URL that does not exist or cannot be opened
EXIT_NO_HOST = 68  # EX_NOHOST: a host the command needs (a Ray cluster's head) cannot be reached
EXIT_UNAVAILABLE = 69  # EX_UNAVAILABLE: a needed service is missing (endpoint in use, no ffmpeg)
EXIT_SOFTWARE = 70  # EX_SOFTWARE: a bug in genrecast (a traceback is logged)
EXIT_NO_PERMISSION = 77  # EX_NOPERM: a folder that is not ours and private (runtime folder)
EXIT_NOT_INSTALLED = 72  # an optional part's extra is not installed (pip install 'genrecast[X]')
EXIT_MODEL = 76  # a model file or its card is missing, corrupt or inconsistent
EXIT_CONFIG = 78  # EX_CONFIG: the configuration file or an option value is invalid


class UserError(Exception):
    """A mistake the user can fix; the CLI prints ``error: <message>`` and exits with ``exit_code``."""

    exit_code = EXIT_USAGE

    def __init__(self, message: str, exit_code: int | None = None) -> None:
        super().__init__(message)
        if exit_code is not None:
            self.exit_code = exit_code


class DataError(UserError):
    """Input audio or a dataset is malformed."""

    exit_code = EXIT_DATA


class InputNotFound(UserError):
    """A file, device or stream cannot be opened."""

    exit_code = EXIT_NO_INPUT


class ModelError(UserError):
    """A model or its model card is missing, corrupt or inconsistent."""

    exit_code = EXIT_MODEL


class ConfigError(UserError):
    """The configuration file or an option is invalid."""

    exit_code = EXIT_CONFIG


class ServiceUnavailable(UserError):
    """Something the daemon needs is taken or missing (an endpoint in use, ffmpeg not installed)."""

    exit_code = EXIT_UNAVAILABLE


class UnsafeFolder(UserError):
    """A folder the daemon would put its sockets in belongs to someone else or is not private."""

    exit_code = EXIT_NO_PERMISSION


class HostUnreachable(UserError):
    """A host the command needs (a Ray cluster's head) cannot be reached, or was lost."""

    exit_code = EXIT_NO_HOST


class NotInstalled(UserError):
    """An optional part of genrecast needs an extra that is not installed."""

    exit_code = EXIT_NOT_INSTALLED
