"""The systemd units: `systemd-analyze verify` prints nothing, `security` scores <= 2.0.

verify checks that ExecStart's binary exists and is executable; the units point at the install
location (/opt/genrecast/bin/genrecast), which a test machine does not have. So we verify a copy
whose ExecStart binary is rewritten to an executable that exists (the genrecast console script of
this environment); everything else in the unit is checked as written.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support.common import REPO

UNITS_DIR = REPO / "systemd"
UNITS = ["genrecast.service", "genrecast@.service", "genrecast-proxy.service"]
INSTALLED_BINARY = "/opt/genrecast/bin/genrecast"
MAX_EXPOSURE = 2.0

pytestmark = pytest.mark.skipif(shutil.which("systemd-analyze") is None,
                                reason="systemd-analyze not installed (apt install systemd)")


def _copy_for_verify(unit: str, dest: Path) -> Path:
    text = (UNITS_DIR / unit).read_text()
    assert f"ExecStart={INSTALLED_BINARY} " in text
    binary = shutil.which("genrecast") or str(Path(sys.executable).parent / "genrecast")
    assert Path(binary).exists(), "the genrecast console script is not installed"
    name = unit.replace("@.", "@test.")  # a template is verified through an instance
    out = dest / name
    out.write_text(text.replace(f"ExecStart={INSTALLED_BINARY} ", f"ExecStart={binary} "))
    return out


@pytest.mark.parametrize("unit", UNITS)
def test_verify_is_silent(unit: str, tmp_path: Path) -> None:
    path = _copy_for_verify(unit, tmp_path)
    proc = subprocess.run(["systemd-analyze", "verify", "--recursive-errors=no", str(path)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0 and proc.stdout == "" and proc.stderr == "", (
        f"systemd-analyze verify {unit}: rc={proc.returncode}\n{proc.stdout}{proc.stderr}")


def test_verify_catches_a_typo(tmp_path: Path) -> None:
    """The check can fail: an unknown key in the unit makes verify print something."""
    path = _copy_for_verify("genrecast.service", tmp_path)
    path.write_text(path.read_text().replace("NoNewPrivileges=", "NoNewPrivilege="))
    proc = subprocess.run(["systemd-analyze", "verify", "--recursive-errors=no", str(path)],
                          capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert "NoNewPrivilege" in proc.stderr


def exposure(unit_path: Path) -> float:
    proc = subprocess.run(["systemd-analyze", "security", "--offline=true", str(unit_path)],
                          capture_output=True, text=True, timeout=60, cwd=unit_path.parent)
    match = re.search(r"Overall exposure level for \S+: (\d+(?:\.\d+)?)", proc.stdout)
    assert match, f"no exposure level in output:\n{proc.stdout}{proc.stderr}"
    return float(match.group(1))


@pytest.mark.parametrize("unit", UNITS)
def test_security_exposure(unit: str, tmp_path: Path) -> None:
    path = tmp_path / unit.replace("@.", "@test.")
    shutil.copy(UNITS_DIR / unit, path)
    score = exposure(path)
    assert score <= MAX_EXPOSURE, f"{unit}: exposure {score} > {MAX_EXPOSURE}"


def test_security_score_reacts(tmp_path: Path) -> None:
    """Without its hardening the same unit scores far worse: the parser reads a real number."""
    text = (UNITS_DIR / "genrecast.service").read_text()
    service = text.split("# Hardening")[0] + "\n[Install]\nWantedBy=multi-user.target\n"
    path = tmp_path / "bare.service"
    path.write_text(service.replace("DynamicUser=yes\n", ""))
    assert exposure(path) > 5.0


def test_units_agree_on_exit_codes() -> None:
    from genrecast.daemon.errors import EXIT_CONFIG, EXIT_MODEL, EXIT_USAGE

    for unit in ("genrecast.service", "genrecast@.service"):
        text = (UNITS_DIR / unit).read_text()
        line = re.search(r"^RestartPreventExitStatus=(.*)$", text, re.M)
        assert line is not None
        codes = {int(c) for c in line.group(1).split()}
        assert {EXIT_CONFIG, EXIT_MODEL, EXIT_USAGE} <= codes
        assert "Type=notify" in text and "WatchdogSec=" in text
