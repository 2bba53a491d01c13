"""The parent's control socket with ``[engine] workers = N``: every request answered for all workers.

``status`` and ``snapshot`` ask each worker (``pool.ask``: its private control socket, or a
cluster shard's actor) and merge the replies (one
daemon to the user, with a ``workers`` list added); a worker that does not answer (dead,
restarting) shows its sources as ``starting`` with the reason. ``pause``, ``resume`` and
``threshold`` go to the worker that owns the source, ``reload`` to every worker.
"""

from __future__ import annotations

import logging
import time
from typing import TYPE_CHECKING, Any

from genrecast.daemon.errors import ServiceUnavailable, UserError

if TYPE_CHECKING:
    from genrecast.daemon.service.pool_run import Pool, Shard

log = logging.getLogger(__name__)


class WorkerControl:
    def __init__(self, pool: Pool) -> None:
        self.pool = pool
        self.created_s = time.monotonic()

    def _ask(self, worker: Shard, command: str, source: str | None = None,
             value: float | None = None) -> dict[str, Any]:
        if not worker.alive:
            raise ServiceUnavailable(f"worker {worker.index} is restarting")
        reply = self.pool.ask(worker, command, source, value)
        if not reply.get("ok"):
            raise UserError(str(reply.get("error", "refused")))
        return reply

    def refresh(self) -> None:
        """Each worker's status, kept for health and metrics (the parent's loop, once a second)."""
        for worker in self.pool.workers:
            try:
                worker.status = self._ask(worker, "status")
            except UserError:
                worker.status = None

    def all_ready(self) -> bool:
        return all(w.finished or (w.status is not None and w.status.get("ready"))
                   for w in self.pool.workers)

    def all_healthy(self) -> bool:
        return all(w.finished or (w.alive and w.status is not None and w.status.get("healthy"))
                   for w in self.pool.workers)

    def summary(self) -> str:
        states = [info.get("state") for w in self.pool.workers if w.status
                  for info in w.status.get("sources", {}).values()]
        running = sum(s == "running" for s in states)
        up = sum(w.alive for w in self.pool.workers)
        return (f"{running}/{len(self.pool.settings.sources)} sources running; "
                f"{up}/{len(self.pool.workers)} workers up")

    def _merged(self, command: str) -> dict[str, Any]:
        sources: dict[str, Any] = {}
        workers = []
        first: dict[str, Any] = {}
        for worker in self.pool.workers:
            try:
                reply = self._ask(worker, command)
            except UserError as exc:
                reason = "finished" if worker.finished else f"worker {worker.index}: {exc}"
                state = "stopped" if worker.finished else "starting"
                reply = {"sources": {name: {"state": state, "reason": f"{state}: {reason}"}
                                     for name in worker.sources}}
            if command == "status":
                worker.status = reply if "ready" in reply else None
            first = first or {k: v for k, v in reply.items() if k not in ("ok", "sources")}
            answered = reply.get("sources", {})
            for name in worker.sources:  # a worker still starting has not listed them yet
                sources[name] = answered.get(name) or {
                    "state": "starting", "reason": f"starting: worker {worker.index} starting"}
            workers.append(worker.describe())
        out: dict[str, Any] = dict(first)
        if command == "status":
            out.update(ready=self.all_ready(), healthy=self.all_healthy(),
                       uptime_s=round(time.monotonic() - self.created_s, 3), workers=workers)
        out["sources"] = sources
        return out

    def status(self) -> dict[str, Any]:
        return self._merged("status")

    def snapshot(self) -> dict[str, Any]:
        return self._merged("snapshot")

    def pause(self, source: str) -> dict[str, Any]:
        return {k: v for k, v in self._ask(self.pool.owner(source), "pause", source).items()
                if k != "ok"}

    def resume(self, source: str) -> dict[str, Any]:
        return {k: v for k, v in self._ask(self.pool.owner(source), "resume", source).items()
                if k != "ok"}

    def threshold(self, source: str, value: float) -> dict[str, Any]:
        reply = self._ask(self.pool.owner(source), "threshold", source, value)
        return {k: v for k, v in reply.items() if k != "ok"}

    def reload(self) -> dict[str, Any]:
        messages = []
        for worker in self.pool.workers:
            try:
                messages.append(f"worker {worker.index}: "
                                f"{self._ask(worker, 'reload').get('message', 'ok')}")
            except UserError as exc:
                messages.append(f"worker {worker.index}: {exc}")
        return {"message": "; ".join(messages)}

    def handlers(self) -> dict[str, Any]:
        return {"status": self.status, "pause": self.pause, "resume": self.resume,
                "threshold": self.threshold, "reload": self.reload, "snapshot": self.snapshot}
