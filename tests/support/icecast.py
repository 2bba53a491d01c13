"""A real Icecast 2 server on a free loopback port, fed by ffmpeg as a source client.

Used by the ICY/now-playing tests and by ``benchmarks/radio.py``. The server writes its own
icecast.xml in a temporary folder (raised client limit, loopback only); when run as root it drops
privileges to an unprivileged user (Icecast refuses to run as root), so the folder is handed to
that user first.
"""

from __future__ import annotations

import os
import pwd
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.parse
import urllib.request
from pathlib import Path

SOURCE_PASSWORD = "hackme-source"
ADMIN_PASSWORD = "hackme-admin"
START_TIMEOUT_S = 10.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def icecast_binary() -> str | None:
    return shutil.which("icecast2") or shutil.which("icecast")


def _web_dirs() -> tuple[str, str]:
    for base in ("/usr/share/icecast2", "/usr/share/icecast"):
        if Path(base, "web").is_dir():
            return f"{base}/web", f"{base}/admin"
    return "/usr/share/icecast2/web", "/usr/share/icecast2/admin"


def _drop_to() -> tuple[str, str] | None:
    """The (user, group) to run as when we are root: icecast2 (Debian's) or nobody."""
    if os.geteuid() != 0:
        return None
    for user in ("icecast2", "nobody"):
        try:
            entry = pwd.getpwnam(user)
        except KeyError:
            continue
        import grp

        return user, grp.getgrgid(entry.pw_gid).gr_name
    return None


CONFIG = """<icecast>
  <location>loopback</location><admin>test@localhost</admin>
  <limits>
    <clients>{clients}</clients><sources>16</sources><queue-size>524288</queue-size>
    <client-timeout>30</client-timeout><header-timeout>15</header-timeout>
    <source-timeout>10</source-timeout><burst-on-connect>1</burst-on-connect>
    <burst-size>{burst}</burst-size>
  </limits>
  <authentication>
    <source-password>{source_pw}</source-password><relay-password>{source_pw}</relay-password>
    <admin-user>admin</admin-user><admin-password>{admin_pw}</admin-password>
  </authentication>
  <hostname>127.0.0.1</hostname>
  <listen-socket><port>{port}</port><bind-address>127.0.0.1</bind-address></listen-socket>
  <fileserve>1</fileserve>
  <paths>
    <basedir>{dir}</basedir><logdir>{dir}</logdir><webroot>{web}</webroot>
    <adminroot>{admin}</adminroot><pidfile>{dir}/icecast.pid</pidfile>
  </paths>
  <logging><accesslog>access.log</accesslog><errorlog>error.log</errorlog>
    <loglevel>2</loglevel></logging>
  <security><chroot>0</chroot>{owner}</security>
</icecast>
"""


class Icecast:
    """``start()`` the server, ``feed(mount, audio)`` ffmpeg source clients, ``set_title``."""

    def __init__(self, clients: int = 200, burst_bytes: int = 65535) -> None:
        self.port = free_port()
        self.clients = clients
        self.burst_bytes = burst_bytes
        self.dir = Path(tempfile.mkdtemp(prefix="icecast-"))
        self.proc: subprocess.Popen[bytes] | None = None
        self.feeders: dict[str, subprocess.Popen[bytes]] = {}

    def url(self, mount: str) -> str:
        return f"http://127.0.0.1:{self.port}{mount}"

    def start(self) -> None:
        binary = icecast_binary()
        if binary is None:
            raise RuntimeError("icecast2 is not installed (apt-get install icecast2)")
        web, admin = _web_dirs()
        owner = ""
        drop = _drop_to()
        if drop is not None:
            owner = f"<changeowner><user>{drop[0]}</user><group>{drop[1]}</group></changeowner>"
            entry = pwd.getpwnam(drop[0])
            os.chown(self.dir, entry.pw_uid, entry.pw_gid)
        config = self.dir / "icecast.xml"
        config.write_text(CONFIG.format(clients=self.clients, source_pw=SOURCE_PASSWORD,
                                        admin_pw=ADMIN_PASSWORD, port=self.port, dir=self.dir,
                                        burst=self.burst_bytes,
                                        web=web, admin=admin, owner=owner))
        self.proc = subprocess.Popen([binary, "-c", str(config)], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                err = self.proc.stderr.read().decode(errors="replace") if self.proc.stderr else ""
                raise RuntimeError(f"icecast exited: {err.strip()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError("icecast did not start listening")

    def feed(self, mount: str, audio: Path, title: str | None = None,
             codec: tuple[str, ...] = ("-c:a", "libmp3lame", "-b:a", "128k"),
             content_type: str = "audio/mpeg", fmt: str = "mp3") -> None:
        """ffmpeg as the source client: ``audio`` looped in real time to ``mount``."""
        cmd = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
               "-stream_loop", "-1", "-i", str(audio), "-vn", *codec,
               "-content_type", content_type, "-f", fmt]
        cmd.append(f"icecast://source:{SOURCE_PASSWORD}@127.0.0.1:{self.port}{mount}")
        self.feeders[mount] = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                               stdout=subprocess.DEVNULL,
                                               stderr=subprocess.DEVNULL)
        self.wait_mount(mount)
        if title is not None:
            self.set_title(mount, title)

    def wait_mount(self, mount: str, timeout_s: float = START_TIMEOUT_S) -> None:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url(mount), timeout=2.0) as resp:
                    if resp.read(1):
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"mount {mount} did not come up")

    def set_title(self, mount: str, title: str) -> None:
        """Icecast's admin metadata API: the next ICY block of the mount carries ``title``."""
        query = urllib.parse.urlencode({"mount": mount, "mode": "updinfo", "song": title})
        req = urllib.request.Request(f"http://127.0.0.1:{self.port}/admin/metadata?{query}")
        import base64

        token = base64.b64encode(f"admin:{ADMIN_PASSWORD}".encode()).decode()
        req.add_header("Authorization", f"Basic {token}")
        with urllib.request.urlopen(req, timeout=5.0) as resp:
            resp.read()

    def stop(self) -> None:
        for proc in self.feeders.values():
            proc.terminate()
        for proc in self.feeders.values():
            try:
                proc.wait(timeout=3.0)
            except subprocess.TimeoutExpired:
                proc.kill()
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=3.0)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc is not None and self.proc.stderr is not None:
            self.proc.stderr.close()
        shutil.rmtree(self.dir, ignore_errors=True)
