"""Supervisors: own a nursery of children, restart them by strategy, stop them in order.

Each child is exactly one Trio task; restarts under one-for-one happen inside
that task, so a child costs one task, one `Child` and one cancel scope. Under
one-for-all and rest-for-one, a crash asks for a restart round instead: one
task of the supervisor stops and starts the children concerned, in order.
Children run in shielded cancel scopes once ready: only the supervisor stops
them (temporary ones together, then the others one at a time in reverse start
order), even when the scope around the supervisor is cancelled.
``trio.Cancelled`` and non-``Exception`` errors are never treated as crashes.
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any, TypeVar

import trio

from ._child import Child, Mode, ReadyStatus, StopReason
from ._errors import ActorGone, RestartIntensityExceeded
from ._spec import ChildSpec, ChildStatistics, Strategy, SupervisorStatistics

__all__ = ["Supervisor", "open_supervisor"]

logger = logging.getLogger("actors")

V = TypeVar("V")


class Supervisor:
    """Starts children, restarts them by `Strategy`, stops them in reverse order.

    Made by `open_supervisor`; its children live as long as that block.
    """

    def __init__(
        self,
        name: str,
        nursery: trio.Nursery,
        *,
        strategy: Strategy,
        max_restarts: int,
        period: float,
        shutdown_timeout: float,
    ) -> None:
        self._name = name
        self._nursery = nursery
        self._strategy = strategy
        self._max_restarts = max_restarts
        self._period = period
        self._shutdown_timeout = shutdown_timeout
        self._children: dict[str, Child] = {}  # insertion order is start order
        self._temporary_running = 0
        self._restart_times: deque[float] = deque()
        self._restarts = 0
        self._closing = False
        self._failure: RestartIntensityExceeded | None = None
        self._round_pending = False
        self._round_scope: trio.CancelScope | None = None
        self._round_done = trio.Event()

    @property
    def name(self) -> str:
        return self._name

    @property
    def strategy(self) -> Strategy:
        return self._strategy

    def __repr__(self) -> str:
        return f"<Supervisor {self._name!r} {self._strategy.name}>"

    async def start(self, spec: ChildSpec[V]) -> V:
        """Start a child and return the value it passes to ``task_status.started``.

        An error raised before the child is ready propagates here and the child
        is not restarted. Raises `ActorGone` if the supervisor is shutting down
        or the child is stopped before it is ready, `ValueError` if a running
        child already has this name.
        """
        child = self._register(spec, shield=False)
        value: V = await self._nursery.start(self._run_child, child, Mode.AWAITED, name=spec.name)
        return value

    def start_soon(self, spec: ChildSpec[Any]) -> None:
        """Start a child without waiting for it to be ready (cheap, for many children)."""
        child = self._register(spec, shield=True)
        self._nursery.start_soon(self._run_child, child, Mode.SOON, name=spec.name)

    async def stop_child(self, name: str) -> bool:
        """Stop a child for good, waiting up to its shutdown timeout.

        Returns False if no child has this name (already gone: not an error).
        """
        child = self._children.get(name)
        if child is None:
            return False
        await self._stop(child, "stop")
        return True

    def statistics(self) -> SupervisorStatistics:
        """A snapshot; temporary children are only counted."""
        children = tuple(
            ChildStatistics(c.spec.name, c.spec.restart, c.restarts, c.running)
            for c in self._children.values()
            if not c.temporary
        )
        return SupervisorStatistics(
            name=self._name,
            strategy=self._strategy,
            restarts=self._restarts,
            children=children,
            temporary_running=self._temporary_running,
        )

    def _register(self, spec: ChildSpec[Any], *, shield: bool) -> Child:
        if self._closing:
            raise ActorGone(f"supervisor {self._name!r} is shutting down")
        if spec.name in self._children:
            raise ValueError(f"supervisor {self._name!r} already runs a child {spec.name!r}")
        child = Child(spec, shield=shield)
        self._children[spec.name] = child
        if child.temporary:
            self._temporary_running += 1
        return child

    def _forget(self, child: Child) -> None:
        """Drop a child that ended for good; runs its ``on_exit`` exactly once."""
        if self._children.get(child.spec.name) is not child:
            return
        del self._children[child.spec.name]
        if child.temporary:
            self._temporary_running -= 1
        if child.spec.on_exit is not None:
            child.spec.on_exit()

    async def _run_child(
        self,
        child: Child,
        mode: Mode,
        *,
        task_status: trio.TaskStatus[Any] = trio.TASK_STATUS_IGNORED,
    ) -> None:
        """The child's task: run it, and under one-for-one restart it in place."""
        try:
            await self._run_once(child, mode, task_status)
            while self._after_exit(child):
                await self._run_once(child, Mode.SOON, trio.TASK_STATUS_IGNORED)
        except BaseException:
            self._forget(child)
            raise
        finally:
            child.running = False
            if child.exited is not None:
                child.exited.set()

    async def _run_once(self, child: Child, mode: Mode, task_status: trio.TaskStatus[Any]) -> None:
        """Run the child's ``start`` once; log a crash (one before ready goes to `start`)."""
        status = None if mode is Mode.SOON else ReadyStatus(task_status, child.scope)
        with child.scope:
            try:
                await child.spec.start(task_status=status or trio.TASK_STATUS_IGNORED)
            except Exception as exc:
                if status is not None and not status.ready and mode is Mode.AWAITED:
                    raise
                logger.error(
                    "supervisor %r: child %r crashed", self._name, child.spec.name, exc_info=exc
                )
        if status is not None and not status.ready:
            if mode is Mode.AWAITED:
                if child.scope.cancelled_caught:
                    raise ActorGone(f"child {child.spec.name!r} stopped before it was ready")
                raise RuntimeError(f"child {child.spec.name!r} returned before it was ready")
            status.started()  # release the waiting restart round

    def _after_exit(self, child: Child) -> bool:
        """Decide what a child's end means; True to restart it in place now."""
        if child.stop_reason == "restart" and not child.temporary:
            return False  # the round that stopped it starts it again
        if child.stop_reason or self._closing or child.temporary:
            self._forget(child)
            return False
        if self._strategy is not Strategy.ONE_FOR_ONE:
            self._request_round()
            return False
        if not self._count_restart():
            self._forget(child)
            self._escalate()
            return False
        logger.info("supervisor %r: restarting child %r", self._name, child.spec.name)
        child.restarts += 1
        child.scope = trio.CancelScope(shield=True)
        return True

    def _count_restart(self) -> bool:
        """Record one restart; False when that exceeds the restart intensity."""
        now = trio.current_time()
        times = self._restart_times
        times.append(now)
        while times and times[0] <= now - self._period:
            times.popleft()
        if len(times) > self._max_restarts:
            return False
        self._restarts += 1
        return True

    def _escalate(self) -> None:
        """Give up: cancel the supervisor's block, which stops every child."""
        if self._failure is None:
            self._failure = RestartIntensityExceeded(
                f"supervisor {self._name!r}: more than {self._max_restarts}"
                f" restarts within {self._period} s"
            )
            logger.error("supervisor %r: restart intensity exceeded, giving up", self._name)
        self._nursery.cancel_scope.cancel()

    def _request_round(self) -> None:
        self._round_pending = True
        if self._round_scope is None:
            self._round_scope = trio.CancelScope()
            self._round_done = trio.Event()
            self._nursery.start_soon(self._run_rounds, name=f"{self._name} restart rounds")

    async def _run_rounds(self) -> None:
        """While a crash is pending, run a round: restart the children it concerns.

        A crash during a round asks for another one, run after it; each round
        counts as one restart.
        """
        assert self._round_scope is not None
        try:
            with self._round_scope:
                while self._round_pending and not self._closing:
                    self._round_pending = False
                    children = self._round_children()
                    if not children:
                        continue  # the child that asked was stopped for good meanwhile
                    if not self._count_restart():
                        self._escalate()
                        return
                    await self._restart(children)
        finally:
            self._round_scope = None
            self._round_done.set()

    def _round_children(self) -> list[Child]:
        """The children a round restarts, in start order.

        One-for-all: all of them. Rest-for-one: the first child waiting for a
        round and every child started after it. A registered child that is not
        running is one waiting for a round (temporary children are forgotten
        as soon as they end).
        """
        children = list(self._children.values())
        if self._strategy is Strategy.ONE_FOR_ALL:
            return children
        for position, child in enumerate(children):
            if not child.running:
                return children[position:]
        return []

    async def _restart(self, children: list[Child]) -> None:
        """Stop `children` in reverse start order, then start them again in start order."""
        for child in reversed(children):
            if child.running:
                await self._stop(child, "restart")
        for child in children:
            if self._closing or self._children.get(child.spec.name) is not child:
                continue  # we are shutting down, or it was stopped for good meanwhile
            logger.info("supervisor %r: restarting child %r", self._name, child.spec.name)
            child.restarts += 1
            child.stop_reason = ""
            child.running = True
            child.exited = None
            child.scope = trio.CancelScope()
            await self._nursery.start(self._run_child, child, Mode.RESTART, name=child.spec.name)

    async def _stop(self, child: Child, reason: StopReason) -> None:
        """Cancel one child and wait for it, up to its shutdown timeout."""
        if child.stop_reason != "stop":  # a stop for good is never turned into a restart
            child.stop_reason = reason
        child.scope.cancel()
        if not child.running:
            if reason == "stop":
                self._forget(child)
            return
        timeout = self._timeout_of(child)
        with trio.move_on_after(timeout):
            await self._wait_exited(child)
            return
        logger.warning(
            "supervisor %r: child %r ignored cancellation for %s s",
            self._name,
            child.spec.name,
            timeout,
        )
        if reason == "restart":
            await self._wait_exited(child)  # Trio cannot abandon a task: never run two

    async def _wait_exited(self, child: Child) -> None:
        if child.running:
            if child.exited is None:
                child.exited = trio.Event()
            await child.exited.wait()

    def _timeout_of(self, child: Child) -> float:
        timeout = child.spec.shutdown_timeout
        return self._shutdown_timeout if timeout is None else timeout

    async def _stop_all(self) -> None:
        """Stop temporary children together, then the others in reverse start order."""
        self._closing = True
        if self._round_scope is not None:
            self._round_scope.cancel()
            await self._round_done.wait()
        children = list(self._children.values())
        temporary = [c for c in children if c.temporary]
        for child in reversed(temporary):
            child.stop_reason = "stop"
            child.scope.cancel()
        with trio.move_on_after(self._shutdown_timeout):
            for child in temporary:
                await self._wait_exited(child)
        for child in reversed(children):
            if not child.temporary:
                await self._stop(child, "stop")


@asynccontextmanager
async def open_supervisor(
    name: str,
    *,
    strategy: Strategy = Strategy.ONE_FOR_ONE,
    max_restarts: int = 3,
    period: float = 5.0,
    shutdown_timeout: float = 5.0,
) -> AsyncIterator[Supervisor]:
    """Open a supervisor whose children live as long as the ``async with`` block.

    Leaving the block, or cancellation of the scope around it, stops every
    child: temporary ones together, then the others in reverse start order,
    each given its shutdown timeout (seconds). More than `max_restarts`
    restarts within `period` seconds of Trio time stops every child and raises
    `RestartIntensityExceeded` out of the block.
    """
    if max_restarts < 0 or period <= 0 or shutdown_timeout < 0:
        raise ValueError("need max_restarts >= 0, period > 0 and shutdown_timeout >= 0")
    try:
        async with trio.open_nursery() as nursery:
            supervisor = Supervisor(
                name,
                nursery,
                strategy=strategy,
                max_restarts=max_restarts,
                period=period,
                shutdown_timeout=shutdown_timeout,
            )
            try:
                yield supervisor
            finally:
                with trio.CancelScope(shield=True):
                    await supervisor._stop_all()
    except BaseExceptionGroup as group:
        _raise_single(group)
    if supervisor._failure is not None:
        raise supervisor._failure


def _raise_single(group: BaseExceptionGroup[BaseException]) -> None:
    """Children never raise into the nursery, so a lone error is the block's own: unwrap it."""
    if len(group.exceptions) != 1:
        raise group
    error = group.exceptions[0]
    context = error.__context__
    try:
        raise error
    finally:
        error.__context__ = context  # not "during handling of" the group
        del error
