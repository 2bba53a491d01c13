"""A private PulseAudio server (null sink ``null``, its monitor the default source) that a test can
play into, and kill and start again on the same socket: the sound server dying under a running
daemon. The one implementation for tests/daemon, tests/service and tests/faults."""

from __future__ import annotations

import os
import shutil
import subprocess
import time
from pathlib import Path

START_TIMEOUT_S = 15.0


class PrivatePulse:
    def __init__(self, root: Path) -> None:
        for tool in ("pulseaudio", "pactl", "paplay"):
            assert shutil.which(tool), f"{tool} is missing: install pulseaudio, pulseaudio-utils"
        assert any(Path(p).exists() for p in ("/usr/share/alsa/alsa.conf.d/pulse.conf",
                                              "/etc/alsa/conf.d/99-pulse.conf")), (
            "ALSA's pulse plugin is missing: install libasound2-plugins")
        self.root = root
        home, runtime = root / "home", root / "runtime"
        home.mkdir(parents=True, exist_ok=True)
        runtime.mkdir(mode=0o700, exist_ok=True)
        # ALSA's default device → PulseAudio, so PortAudio (ALSA host API) reaches the server.
        (home / ".asoundrc").write_text("pcm.!default { type pulse }\nctl.!default { type pulse }\n")
        self.socket_path = root / "native"
        self.env = dict(os.environ, HOME=str(home), XDG_RUNTIME_DIR=str(runtime),
                        PULSE_SERVER=f"unix:{self.socket_path}")
        self.proc: subprocess.Popen[bytes] | None = None
        self.log_path = root / "pulseaudio.log"

    def start(self) -> None:
        cmd = ["pulseaudio", "-n", "--daemonize=no", "--exit-idle-time=-1", "--disallow-exit",
               "--use-pid-file=no", "-L", "module-null-sink sink_name=null rate=48000",
               "-L", f"module-native-protocol-unix auth-anonymous=1 socket={self.socket_path}"]
        if os.geteuid() == 0:
            cmd.insert(1, "--system=false")  # as root: a per-user server in our temp HOME
        self.socket_path.unlink(missing_ok=True)
        with open(self.log_path, "a") as log:
            self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + START_TIMEOUT_S
        while time.monotonic() < deadline and self.proc.poll() is None:
            probe = subprocess.run(["pactl", "set-default-source", "null.monitor"],
                                   env=self.env, capture_output=True, check=False)
            if probe.returncode == 0:
                return
            time.sleep(0.2)
        self.kill()
        raise AssertionError(f"PulseAudio did not start: {self.log_path.read_text()[-2000:]}")

    def kill(self) -> None:
        """SIGKILL: the server vanishes without telling its clients anything."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=10)
        self.proc = None

    def stop(self, kill: bool = False) -> None:
        """SIGTERM (or SIGKILL with ``kill``), waiting for the server to go."""
        proc, self.proc = self.proc, None
        if proc is None or proc.poll() is not None:
            return
        proc.kill() if kill else proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def play(self, path: Path) -> subprocess.Popen[bytes]:
        """paplay a file into the null sink (its monitor is what the daemon captures)."""
        return subprocess.Popen(["paplay", "--device=null", str(path)], env=self.env)
