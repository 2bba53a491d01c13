"""What a Ray worker node costs under ``genrecast cluster run``: Ray's own processes and the
shards, memory and CPU, with N real ``url:`` stations.

    nice python benchmarks/cluster_node_cost.py                  # 100 stations, 30 s measured
    nice python benchmarks/cluster_node_cost.py --sources 200 --seconds 60

A real local cluster (a head with no CPUs, one worker node ``w1`` with ``--cpus``), a real
Icecast 2 fed by ffmpeg, the default model at a 1-s hop. Once every station runs, the node's
processes are read from /proc for SECONDS: resident and proportional memory (RSS, PSS) and CPU,
split into Ray's processes (raylet, agents, log monitor) and the shard processes (ShardHost),
printed side by side with the per-station figures.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from tests.support.icecast import Icecast, free_port  # noqa: E402
from tests.support.ray_cluster import RayCluster  # noqa: E402

DEMO = REPO / "daemon" / "demo" / "demo.ogg"
TICKS_S = os.sysconf("SC_CLK_TCK")


def _cmdline(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode()
    except OSError:
        return ""


def _cpu_s(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICKS_S


def _memory_mb(pid: int) -> tuple[float, float]:
    rss = pss = 0.0
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Rss:"):
                rss = int(line.split()[1]) / 1024
            elif line.startswith("Pss:"):
                pss = int(line.split()[1]) / 1024
    except OSError:
        pass
    return rss, pss


def _status(control: str) -> dict[str, dict[str, object]]:
    from genrecast.daemon.service.control import request

    return dict(request(control, "status", timeout_s=10)["sources"])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sources", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=30.0)
    parser.add_argument("--cpus", type=int, default=1)
    args = parser.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="cluster-cost-"))
    icecast = Icecast(clients=args.sources + 10)
    cluster = RayCluster()
    driver = None
    try:
        icecast.start()
        icecast.feed("/radio", DEMO)
        cluster.start_head()
        cluster.add_node("w1", cpus=args.cpus)
        control = f"ipc://{tmp}/control.sock"
        config = tmp / "stations.toml"
        config.write_text(
            f'[decisions]\nhop_s = 1.0\n[publish]\nendpoint = "tcp://127.0.0.1:{free_port()}"\n'
            f'[control]\nendpoint = "{control}"\n'
            + "".join(f'[[sources]]\nname = "s{i}"\nkind = "url"\n'
                      f'target = "{icecast.url("/radio")}"\n' for i in range(args.sources)))
        driver = subprocess.Popen([sys.executable, "-m", "genrecast.daemon.cli", "cluster", "run",
                                   "--address", cluster.address, "-c", str(config)],
                                  stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 180
        while time.monotonic() < deadline:
            try:
                states = _status(control)
                if sum(v.get("state") == "running" for v in states.values()) == args.sources:
                    break
            except Exception:
                pass
            time.sleep(1.0)
        else:
            raise SystemExit("the stations did not all start within 180 s")
        node = cluster._processes("w1")
        groups = {"shards": [p for p in node if "ShardHost" in _cmdline(p)]}
        groups["Ray's own"] = [p for p in node if p not in groups["shards"]]
        cpu0 = {p: _cpu_s(p) for p in node}
        time.sleep(args.seconds)
        print(f"one worker node ({args.cpus} CPU), {args.sources} url stations, default model, "
              f"1-s hop; {args.seconds:g} s measured")
        for name, pids in groups.items():
            mem = [_memory_mb(p) for p in pids]
            cpu = sum(_cpu_s(p) - cpu0.get(p, 0.0) for p in pids) / args.seconds
            rss, pss = sum(m[0] for m in mem), sum(m[1] for m in mem)
            print(f"  {name:<10} {len(pids):3d} processes  RSS {rss:7.0f} MB  PSS {pss:7.0f} MB  "
                  f"CPU {cpu:5.2f} cores")
            if name == "shards":
                print(f"  {'':<10} per station: PSS {pss / args.sources:5.2f} MB, "
                      f"CPU {cpu / args.sources * 1000:5.2f} millicores")
    finally:
        if driver is not None and driver.poll() is None:
            driver.terminate()
            driver.wait(30)
        cluster.stop()
        icecast.stop()


if __name__ == "__main__":
    main()
