"""The coordinator: sources in shards, shards as Ray actors on the cluster's nodes.

Each source belongs to exactly one shard, for the whole run (configuration order, in groups of
``SOURCES_PER_SHARD``); each shard is one actor. Ray owns placement and failure: a shard declares
the CPU and memory it needs (measured per source, ``shard_resources``) and ``max_restarts=-1``,
so when its node dies Ray starts it again, with the same arguments, on a node that has room, and
it opens its sources there. Ray never runs two incarnations of an actor at once, so a source is
open in one place at any time.

What the coordinator adds, polled every ``SHARD_POLL_S`` from the pool loop (``run_pool``):

- where each shard runs and publishes (``ShardHost.where``): a new endpoint (a restart on another
  node) moves the relay's subscription; a shard that does not answer shows as restarting;
- spreading load onto a node that joined: Ray never moves a running actor, so when one node
  carries more than a shard's worth of sources above another, one shard is stopped (its sources
  close, ``stopped`` statuses go out) and started again on the lighter node, one move per
  ``REBALANCE_S``; shards that are not moved are never touched;
- the head: shards answer without it (actor calls go node to node), so its port is probed every
  ``HEAD_CHECK_S``; refused or silent for ``HEAD_LOST_S``, the run stops its shards and ends
  with exit code 68 (Ray itself would end every process of the cluster a minute after losing
  its head, the driver's with exit code 1 and a log line).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from types import ModuleType
from typing import Any

from genrecast.daemon.cluster.model_files import ModelFiles
from genrecast.daemon.cluster.ray_link import alive_nodes, node_label, probe
from genrecast.daemon.cluster.shard import ShardHost
from genrecast.daemon.errors import HostUnreachable, ServiceUnavailable, UserError
from genrecast.daemon.settings import Settings

log = logging.getLogger(__name__)

SOURCES_PER_SHARD = 25
MIN_SHARDS = 4  # a few more shards than nodes, so load can move in pieces
# Declared per shard so Ray places no more on a node than it can carry. Measured on a 2-core
# host (issue 28's figures: ~600 url streams per host with the default model): a url source
# costs about a third of a percent of a core, memory about 2 MiB; a shard's own process (Ray
# worker, interpreter, LiteRT, the model) about 150 MiB.
CPU_PER_SOURCE = 0.0033
SHARD_BASE_CPU = 0.02
MIB = 1 << 20
SHARD_BASE_MEMORY = 150 * MIB
MEMORY_PER_SOURCE = 2 * MIB
SHARD_POLL_S = 0.5
ASK_TIMEOUT_S = 2.0
STOP_TIMEOUT_S = 4.0
REBALANCE_S = 2.0
HEAD_CHECK_S = 2.0
HEAD_LOST_S = 20.0
TICK_SLACK_S = 0.5


def shard_groups(names: list[str], shards: int = 0) -> list[tuple[str, ...]]:
    """Sources in configuration order, dealt round-robin into ``shards`` groups (0: enough for
    ``SOURCES_PER_SHARD`` each, at least ``MIN_SHARDS``), never an empty group."""
    count = shards or max(-(-len(names) // SOURCES_PER_SHARD), MIN_SHARDS)
    count = max(1, min(count, len(names)))
    return [tuple(names[i::count]) for i in range(count)]


def shard_resources(sources: int) -> dict[str, float]:
    return {"num_cpus": round(SHARD_BASE_CPU + CPU_PER_SOURCE * sources, 4),
            "memory": float(SHARD_BASE_MEMORY + MEMORY_PER_SOURCE * sources)}


@dataclass
class ShardSlot:
    """One shard as the driver knows it (``pool_run.Shard``)."""

    index: int
    sources: tuple[str, ...]
    actor: Any = None
    node: str = ""
    node_id: str = ""
    endpoint: str = ""
    restarts: int = 0
    """Times it came back on a node after its node or process died."""
    moves: int = 0
    """Times the coordinator moved it to spread load."""
    finished: bool = False
    status: dict[str, Any] | None = None
    answered: bool = False
    pending: Any = None  # the outstanding where() call
    asked_s: float = 0.0

    @property
    def alive(self) -> bool:
        return self.answered

    def describe(self) -> dict[str, Any]:
        return {"index": self.index, "node": self.node, "alive": self.alive,
                "restarts": self.restarts, "moves": self.moves, "sources": len(self.sources)}


class ClusterPool:
    """``run_pool``'s pool for ``genrecast cluster run``."""

    def __init__(self, settings: Settings, ray: ModuleType, address: str, shards: int = 0,
                 model: ModelFiles | None = None) -> None:
        self.settings = settings
        self.ray = ray
        self.address = address
        self.model = model or ModelFiles.read(settings.model_path)
        groups = shard_groups([s.name for s in settings.sources], shards)
        self.workers: list[ShardSlot] = [ShardSlot(i, g) for i, g in enumerate(groups)]
        self.exit_code = 0
        self.relay: Any = None
        self._remote = ray.remote(ShardHost)
        self._model_ref = ray.put(self.model)
        self._next_poll = 0.0
        self._next_rebalance = 0.0
        self._head_ok_s = time.monotonic()
        self._next_head_check = 0.0
        # The cluster's nodes, refreshed by a thread of their own: asking Ray's head blocks
        # while the head is away, and the loop must go on to notice that.
        self._nodes: dict[str, dict[str, Any]] = {}
        self._stopped = threading.Event()
        threading.Thread(target=self._watch_nodes, name="genrecast-nodes", daemon=True).start()
        self.gcs_address = str(ray.get_runtime_context().gcs_address)

    # -- what run_pool asks ----------------------------------------------------------------

    def relay_endpoints(self) -> dict[int, str]:
        return {}  # shards report theirs once they run

    def watch_relay(self, relay: Any) -> None:
        self.relay = relay

    def start_line(self) -> str:
        nodes = len(alive_nodes(self.ray))
        return (f"{len(self.workers)} shards over {nodes} Ray node{'s' if nodes != 1 else ''} "
                f"({self.address})")

    def start(self) -> None:
        for slot in self.workers:
            self._create(slot, "SPREAD")

    def _create(self, slot: ShardSlot, strategy: Any) -> None:
        slot.actor = self._remote.options(
            max_restarts=-1, max_task_retries=0, scheduling_strategy=strategy,
            **shard_resources(len(slot.sources)),
        ).remote(self.settings, slot.index, slot.sources, [self._model_ref])
        slot.pending, slot.answered, slot.endpoint = None, False, ""

    def owner(self, source: str) -> ShardSlot:
        for slot in self.workers:
            if source in slot.sources:
                return slot
        raise UserError(f"no source named {source!r}; sources: "
                        f"{', '.join(s.name for s in self.settings.sources)}")

    def ask(self, worker: ShardSlot, command: str, source: str | None = None,
            value: float | None = None) -> dict[str, Any]:
        try:
            reply: dict[str, Any] = self.ray.get(worker.actor.ask.remote(command, source, value),
                                                 timeout=ASK_TIMEOUT_S)
        except self.ray.exceptions.GetTimeoutError:
            raise ServiceUnavailable(f"shard {worker.index} on {worker.node or '?'} did not "
                                     f"answer within {ASK_TIMEOUT_S} s") from None
        except self.ray.exceptions.RayError as exc:
            raise ServiceUnavailable(f"shard {worker.index} is restarting "
                                     f"({type(exc).__name__})") from None
        return reply

    # -- the loop ----------------------------------------------------------------------------

    def check(self, now: float, on_exit: Callable[[Any], None] | None = None) -> bool:
        if now >= self._next_poll:
            self._next_poll = now + SHARD_POLL_S
            self._poll(now, on_exit)
        if self.exit_code:
            return False
        if now >= self._next_rebalance:
            self._next_rebalance = now + REBALANCE_S
            self._rebalance()
        return not all(s.finished for s in self.workers)

    def _poll(self, now: float, on_exit: Callable[[Any], None] | None) -> None:
        ray = self.ray
        for slot in self.workers:
            if slot.finished:
                continue
            if slot.pending is None:
                slot.pending, slot.asked_s = slot.actor.where.remote(), now
                continue
            ready, _ = ray.wait([slot.pending], timeout=0)
            if not ready:
                if now - slot.asked_s > ASK_TIMEOUT_S and slot.answered:
                    slot.answered = False  # its node is probably gone; Ray will tell
                    log.warning("shard %d on %s stopped answering", slot.index, slot.node)
                    if on_exit is not None:
                        on_exit(slot)
                continue
            slot.pending = None
            try:
                info = ray.get(ready[0])
            except ray.exceptions.RayError as exc:
                if slot.answered:
                    log.warning("shard %d on %s is gone (%s); Ray starts it again on a node "
                                "with room", slot.index, slot.node, type(exc).__name__)
                    if on_exit is not None:
                        on_exit(slot)
                slot.answered = False
                continue
            self._seen(slot, info)
        if now >= self._next_head_check:
            self._next_head_check = now + HEAD_CHECK_S
            self._check_head(now)

    def _check_head(self, now: float) -> None:
        try:
            probe(self.gcs_address, timeout_s=1.0)
        except HostUnreachable as exc:
            if now - self._head_ok_s <= HEAD_CHECK_S + TICK_SLACK_S:  # the first miss
                log.warning("%s; giving up in %.0f s", exc, HEAD_LOST_S)
            if now - self._head_ok_s > HEAD_LOST_S:
                raise HostUnreachable(f"lost the Ray head at {self.gcs_address} (no answer for "
                                      f"{HEAD_LOST_S:.0f} s); the nodes end the shards when they "
                                      "give up on it too. Start the head again, then genrecast "
                                      "cluster run") from None
            return
        self._head_ok_s = now

    def _seen(self, slot: ShardSlot, info: dict[str, Any]) -> None:
        error = info.get("error")
        if error and error.get("exit_code"):
            log.error("shard %d on %s: %s", slot.index, info["node"], error["message"])
            self.exit_code = int(error["exit_code"])
            return
        slot.finished = bool(info.get("finished"))
        slot.answered = True
        endpoint = str(info.get("endpoint", ""))
        if endpoint and endpoint != slot.endpoint:
            if slot.endpoint:  # Ray restarted it (a move of ours clears the endpoint first)
                slot.restarts += 1
                log.warning("shard %d (%d sources) runs again, on %s (was on %s)", slot.index,
                            len(slot.sources), info["node"], slot.node)
            slot.endpoint = endpoint
            slot.node, slot.node_id = str(info["node"]), str(info["node_id"])
            if self.relay is not None:
                self.relay.move(slot.index, endpoint)
            slot.actor.relay_connected.remote()  # it opens its sources now
        elif not slot.node_id:
            slot.node, slot.node_id = str(info["node"]), str(info["node_id"])

    # -- spreading load ------------------------------------------------------------------------

    def _watch_nodes(self) -> None:
        while not self._stopped.is_set():
            try:
                self._nodes = {n["NodeID"]: n for n in alive_nodes(self.ray)}
            except Exception as exc:  # the head is away: _check_head says so
                log.debug("listing nodes: %s", exc)
            self._stopped.wait(REBALANCE_S)

    def _rebalance(self) -> None:
        """Move one shard from the busiest node to the idlest when that narrows the gap."""
        if not all(s.answered and s.endpoint for s in self.workers if not s.finished):
            return  # a shard is starting or moving: decide on a settled picture
        nodes = self._nodes
        if len(nodes) < 2:
            return
        load = dict.fromkeys(nodes, 0)
        for slot in self.workers:
            if slot.node_id in load and not slot.finished:
                load[slot.node_id] += len(slot.sources)
        busiest = max(load, key=lambda n: load[n])
        idlest = min(load, key=lambda n: load[n])
        movable = [s for s in self.workers if s.node_id == busiest and not s.finished]
        if not movable:
            return
        slot = min(movable, key=lambda s: len(s.sources))
        if load[busiest] - load[idlest] <= len(slot.sources):
            return  # moving would not narrow the gap
        self._move(slot, idlest, node_label(nodes[idlest]))

    def _move(self, slot: ShardSlot, node_id: str, label: str) -> None:
        from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

        log.warning("moving shard %d (%d sources) from %s to %s to spread the load", slot.index,
                    len(slot.sources), slot.node, label)
        self._stop_actor(slot)
        if self.relay is not None:
            self.relay.move(slot.index, "")
        slot.moves += 1
        slot.node = slot.node_id = ""
        # soft: should that node die before the shard starts, Ray places it elsewhere
        self._create(slot, NodeAffinitySchedulingStrategy(node_id, soft=True))

    def _stop_actor(self, slot: ShardSlot) -> None:
        """Close its sources first (stopped statuses go out), then end the actor for good, so
        its sources are never open in two places."""
        try:
            self.ray.get(slot.actor.stop.remote(), timeout=STOP_TIMEOUT_S)
        except Exception as exc:  # gone already, or hung: killed below either way
            log.debug("shard %d stop: %s", slot.index, exc)
        self.ray.kill(slot.actor, no_restart=True)

    # -- the end ---------------------------------------------------------------------------------

    def stop(self) -> None:
        self._stopped.set()
        refs = [s.actor.stop.remote() for s in self.workers if s.actor is not None]
        try:
            self.ray.wait(refs, num_returns=len(refs), timeout=STOP_TIMEOUT_S)
        except Exception as exc:
            log.debug("stopping shards: %s", exc)
        self.kill_all()

    def kill_all(self) -> None:
        for slot in self.workers:
            if slot.actor is not None:
                try:
                    self.ray.kill(slot.actor, no_restart=True)
                except Exception as exc:
                    log.debug("shard %d kill: %s", slot.index, exc)
