"""CURVE authentication for the event socket: key files, the server side, the client side.

Keys are ZeroMQ certificate files (``zmq.auth``): ``NAME.key`` holds the public key (give it
away), ``NAME.key_secret`` holds both (keep it; mode 0600). The daemon loads its secret key and
accepts a subscriber only when the subscriber's public key file is in the authorized folder;
everyone else connects but receives nothing (the handshake fails, ZeroMQ drops the peer).
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path

import zmq
import zmq.auth
from genrecast.daemon.errors import ConfigError, UserError
from zmq.auth.thread import ThreadAuthenticator

log = logging.getLogger(__name__)

SECRET_FILE_MODE = 0o600


@dataclass(frozen=True)
class KeyFiles:
    public: Path
    secret: Path


def create_keys(directory: Path, name: str, *, overwrite: bool = False) -> KeyFiles:
    """Write ``directory/name.key`` and ``directory/name.key_secret`` (secret mode 0600)."""
    if not name or "/" in name or name.startswith("."):
        raise UserError(f"key name {name!r} must be a plain file name; e.g. genrecast keys DIR server")
    directory.mkdir(parents=True, exist_ok=True)
    files = KeyFiles(directory / f"{name}.key", directory / f"{name}.key_secret")
    if not overwrite and (files.public.exists() or files.secret.exists()):
        raise UserError(f"{files.public} already exists; pick another name or pass --force")
    old_umask = os.umask(0o077)  # the secret file must never be readable by others, even briefly
    try:
        public, secret = zmq.auth.create_certificates(str(directory), name)
    finally:
        os.umask(old_umask)
    os.chmod(secret, SECRET_FILE_MODE)
    os.chmod(public, 0o644)
    return KeyFiles(Path(public), Path(secret))


def load_secret(path: Path | str) -> tuple[bytes, bytes]:
    """(public, secret) from a ``.key_secret`` file; ConfigError with the fix if unusable."""
    try:
        public, secret = zmq.auth.load_certificate(str(path))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read a CURVE secret key ({exc}); "
                          "make one with genrecast keys DIR NAME") from None
    if secret is None:
        raise ConfigError(f"{path}: holds no secret key; point at NAME.key_secret, not NAME.key")
    return public, secret


def load_public(path: Path | str) -> bytes:
    try:
        public, _ = zmq.auth.load_certificate(str(path))
    except (OSError, ValueError) as exc:
        raise ConfigError(f"{path}: cannot read a CURVE public key ({exc}); "
                          "copy the server's NAME.key here") from None
    return public


class CurveServer:
    """Runs the ZAP authenticator on a context and makes sockets CURVE servers."""

    def __init__(self, context: zmq.Context, secret_key_path: Path | str,
                 authorized_dir: Path | str) -> None:
        self.public, self.secret = load_secret(secret_key_path)
        self.authorized_dir = Path(authorized_dir)
        if not self.authorized_dir.is_dir():
            raise ConfigError(f"{authorized_dir}: not a folder of authorized public keys; "
                              "create it and copy each subscriber's NAME.key into it")
        self._auth = ThreadAuthenticator(context, log=logging.getLogger(__name__ + ".zap"))
        self._auth.start()
        self._auth.configure_curve(domain="*", location=str(self.authorized_dir))
        log.info("CURVE: %d authorized key(s) in %s", self.count_keys(), self.authorized_dir)

    def count_keys(self) -> int:
        return len(list(self.authorized_dir.glob("*.key")))

    def reload_keys(self) -> None:
        """Re-read the authorized folder (on SIGHUP): added or removed subscribers take effect."""
        self._auth.configure_curve(domain="*", location=str(self.authorized_dir))

    def secure(self, socket: zmq.Socket) -> None:
        """Call before ``bind``."""
        socket.curve_secretkey = self.secret
        socket.curve_publickey = self.public
        socket.curve_server = True

    def stop(self) -> None:
        self._auth.stop()


def secure_client(socket: zmq.Socket, client_secret_path: Path | str,
                  server_public_path: Path | str) -> None:
    """Make ``socket`` a CURVE client of the server whose public key file is given."""
    public, secret = load_secret(client_secret_path)
    socket.curve_secretkey = secret
    socket.curve_publickey = public
    socket.curve_serverkey = load_public(server_public_path)
