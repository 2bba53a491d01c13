"""Binding ZeroMQ endpoints safely: ipc paths another live daemon serves, socket file mode/group.

ZeroMQ silently steals an ``ipc://`` path from the process that bound it first (it unlinks and
rebinds). So before binding we try to connect to the path as a plain unix stream socket: if
someone accepts, another daemon is live and we refuse; a refused connection means a stale file
from a crashed daemon, which we remove. After binding, the socket file gets the configured mode
and group (the file mode otherwise follows the umask).

The daemon's own runtime folder (the default place of its sockets) is created with mode 0700;
one that exists already must be ours and writable by nobody else, or we refuse, as ssh-agent and
tmux do: whoever can write the folder can replace the control socket and forge its replies.
"""

from __future__ import annotations

import errno
import grp
import logging
import os
import socket
import stat
from pathlib import Path

import zmq
from genrecast.daemon.errors import ConfigError, ServiceUnavailable, UnsafeFolder
from genrecast.daemon.settings import default_runtime_dir

log = logging.getLogger(__name__)

PROBE_TIMEOUT_S = 1.0


def ipc_path(endpoint: str) -> Path | None:
    return Path(endpoint[len("ipc://"):]) if endpoint.startswith("ipc://") else None


def ipc_in_use(path: Path) -> bool:
    """True when a live process accepts connections on the unix socket ``path``."""
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    probe.settimeout(PROBE_TIMEOUT_S)
    try:
        probe.connect(str(path))
    except (ConnectionRefusedError, FileNotFoundError):
        return False
    except OSError as exc:
        if exc.errno in (errno.ECONNREFUSED, errno.ENOENT, errno.ENOTSOCK):
            return False
        raise
    else:
        return True
    finally:
        probe.close()


def ensure_private_folder(folder: Path) -> None:
    """Create ``folder`` (mode 0700), or refuse one another user owns or others can write."""
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        folder.mkdir(mode=0o700, exist_ok=True)
        info = folder.lstat()
    except OSError as exc:
        raise UnsafeFolder(f"cannot create the runtime folder {folder}: {exc.strerror}; "
                           "set XDG_RUNTIME_DIR or configure the endpoints' paths") from None
    check_private_folder(folder, info)


def check_private_folder(folder: Path, info: os.stat_result | None = None) -> None:
    """Refuse ``folder`` unless this user owns it and nobody else can write it (a client
    checks before it trusts a socket there)."""
    if info is None:
        try:
            info = folder.lstat()
        except FileNotFoundError:
            return
    if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.getuid():
        raise UnsafeFolder(f"the runtime folder {folder} is not a folder of this user (uid "
                           f"{os.getuid()}); remove it or set XDG_RUNTIME_DIR")
    if info.st_mode & 0o022:
        raise UnsafeFolder(f"the runtime folder {folder} is writable by others (mode "
                           f"{stat.S_IMODE(info.st_mode):04o}); run chmod 700 {folder}")


def bind(sock: zmq.Socket, endpoint: str, *, mode: int = 0o660, group: str = "",
         what: str = "endpoint") -> str:
    """Bind ``sock``; refuse an ipc path a live process serves; set mode/group of ipc files.

    Returns the bound endpoint (``tcp://127.0.0.1:*`` resolves to the real port).
    """
    path = ipc_path(endpoint)
    if path is not None:
        if path.parent == default_runtime_dir():
            ensure_private_folder(path.parent)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
        if path.exists():
            if ipc_in_use(path):
                raise ServiceUnavailable(
                    f"{what} {endpoint} is served by another running genrecast; stop it or "
                    "configure another path (ZeroMQ would silently take it over)")
            log.info("removing stale socket file %s", path)
            path.unlink()
    try:
        sock.bind(endpoint)
    except zmq.ZMQError as exc:
        raise ServiceUnavailable(f"cannot bind {what} {endpoint}: {exc.strerror}; "
                                 "choose a free port or path") from None
    bound = sock.getsockopt_string(zmq.LAST_ENDPOINT)
    if path is not None:
        os.chmod(path, mode)
        if group:
            try:
                os.chown(path, -1, grp.getgrnam(group).gr_gid)
            except (KeyError, OSError) as exc:
                sock.close(linger=0)
                raise ConfigError(f"cannot give {path} to group {group!r} ({exc}); the daemon's "
                                  "user must be a member (SupplementaryGroups=) or remove "
                                  "security.ipc_group") from None
    return bound
