"""The two room scenarios of `momentum stress` (see `_room_load` for what each measures)."""

from __future__ import annotations

import contextlib
import time
from collections.abc import Awaitable, Callable

import orjson
import trio
from trio_websocket import ConnectionClosed, WebSocketConnection

from ._http import ToolError
from ._room_load import RoomRun, Subscriber, room_message, subscribe


class _Phases:
    """Counts connections settling (subscribed or failed) and tasks finishing."""

    def __init__(self, connections: int) -> None:
        self._unsettled = self._unfinished = connections
        self.settled, self.finished = trio.Event(), trio.Event()
        self.start, self.release = trio.Event(), trio.Event()
        if connections == 0:
            self.settled.set()
            self.finished.set()

    def settle(self) -> None:
        self._unsettled -= 1
        if self._unsettled == 0:
            self.settled.set()

    def finish(self) -> None:
        self._unfinished -= 1
        if self._unfinished == 0:
            self.finished.set()


async def run_room(run: RoomRun) -> None:
    """`room`: every publisher at once into its room, every subscriber counting."""
    plan = run.plan
    rooms = await run.create_rooms()
    phases = _Phases(plan.rooms * (plan.subscribers + 1))
    began = trio.current_time()
    async with trio.open_nursery() as nursery:
        for index, room in enumerate(rooms):
            for n in range(plan.subscribers):
                token = run.subscriber_token(index, n)
                nursery.start_soon(_subscriber, run, phases, room, token)
            nursery.start_soon(_publisher, run, phases, room, run.publisher_token(index))
        await phases.settled.wait()
        run.connect_seconds = trio.current_time() - began
        started = trio.current_time()
        run.tally.first_sent_ns = time.perf_counter_ns()
        phases.start.set()
        with trio.move_on_after(_budget(run)):
            await phases.finished.wait()
        run.message_seconds = trio.current_time() - started
        phases.release.set()


def _budget(run: RoomRun) -> float:
    """How long the messages may take: the pacing's own time plus the drain timeout."""
    plan = run.plan
    paced = plan.messages / plan.rate if plan.rate > 0 else 0.0
    if plan.rate_limit > 0:
        paced = max(paced, plan.messages / plan.rate_limit)
    return paced + plan.drain_timeout + 10.0


async def _subscriber(run: RoomRun, phases: _Phases, room: str, token: str) -> None:
    async def receive(ws: WebSocketConnection) -> None:
        subscriber = Subscriber()
        run.tally.subscribers.append(subscriber)
        await _receive(run, ws, subscriber, run.plan.messages)

    await _participant(run, phases, room, token, receive)


async def _publisher(run: RoomRun, phases: _Phases, room: str, token: str) -> None:
    async def send(ws: WebSocketConnection) -> None:
        await phases.start.wait()
        await publish(run, ws, room)

    await _participant(run, phases, room, token, send)


async def _participant(
    run: RoomRun,
    phases: _Phases,
    room: str,
    token: str,
    work: Callable[[WebSocketConnection], Awaitable[None]],
) -> None:
    """Connect, subscribe (settled), do `work` until done (finished) or released; a failure
    is counted and settles and finishes it all the same."""
    settled = finished = False
    async with contextlib.AsyncExitStack() as stack:
        try:
            ws = await run.open(stack, token)
            if ws is None:
                return
            await subscribe(ws, room)
            settled = True
            phases.settle()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(_cancel_on, phases.release, nursery.cancel_scope)
                await work(ws)
                finished = True
                phases.finish()
                nursery.cancel_scope.cancel()
        except* (ToolError, ConnectionClosed) as failed:  # also from inside a nursery
            run.tally.error(type(failed.exceptions[0]).__name__)
        finally:
            if not settled:
                phases.settle()
            if not finished:
                phases.finish()


async def _receive(run: RoomRun, ws: WebSocketConnection, subscriber: Subscriber, due: int) -> None:
    while len(subscriber.offsets) < due:
        got = room_message(await ws.get_message(), run.run_id)
        if got is not None:
            subscriber.received(*got)
            run.tally.last_received_ns = time.perf_counter_ns()


async def _cancel_on(event: trio.Event, scope: trio.CancelScope) -> None:
    await event.wait()
    scope.cancel()


async def publish(run: RoomRun, ws: WebSocketConnection, room: str) -> None:
    """Send the plan's messages into `room`, at most `window` unanswered; return when each
    has its ack or error."""
    plan, pacer = run.plan, run.pacer()
    window = trio.Semaphore(max(1, plan.window))
    interval = 1 / plan.rate if plan.rate > 0 else 0.0
    async with trio.open_nursery() as nursery:
        nursery.start_soon(_answers, run, ws, window, plan.messages)
        next_at = trio.current_time()
        for n in range(plan.messages):
            await window.acquire()
            if interval:
                next_at += interval
                await trio.sleep_until(next_at)
            await pacer.wait()
            await ws.send_message(run.message_body(room, n))
            run.tally.published += 1


async def _answers(run: RoomRun, ws: WebSocketConnection, window: trio.Semaphore, due: int) -> None:
    answered = 0
    while answered < due:
        message = orjson.loads(await ws.get_message())
        kind, data = message.get("message_type"), message.get("data") or {}
        if kind == "ack" and "offset" in data and "rooms" not in data:
            run.tally.acked += 1
        elif kind == "error":
            run.tally.error(f"error_{data.get('code')}")
        else:
            continue
        answered += 1
        window.release()


async def run_room_recovery(run: RoomRun) -> None:
    """`room-recovery`: subscribe and leave, publish, then resubscribe from the offset."""
    plan = run.plan
    rooms = await run.create_rooms()
    began = trio.current_time()
    offsets: dict[tuple[int, int], int] = {}
    async with trio.open_nursery() as nursery:
        for index, room in enumerate(rooms):
            for n in range(plan.subscribers):
                nursery.start_soon(_note_offset, run, room, (index, n), offsets)
    run.connect_seconds = trio.current_time() - began
    started = trio.current_time()
    run.tally.first_sent_ns = time.perf_counter_ns()
    async with trio.open_nursery() as nursery:
        for index, room in enumerate(rooms):
            nursery.start_soon(_publish_alone, run, room, run.publisher_token(index))
    with trio.move_on_after(_budget(run)):
        async with trio.open_nursery() as nursery:
            for (index, n), offset in offsets.items():
                nursery.start_soon(_recover, run, rooms[index], (index, n), offset)
    run.message_seconds = trio.current_time() - started


async def _note_offset(
    run: RoomRun, room: str, who: tuple[int, int], offsets: dict[tuple[int, int], int]
) -> None:
    async with contextlib.AsyncExitStack() as stack:
        ws = await run.open(stack, run.subscriber_token(*who))
        if ws is None:
            return
        try:
            offsets[who] = int((await subscribe(ws, room))["offset"])
        except* (ToolError, ConnectionClosed) as failed:  # also from inside a nursery
            run.tally.error(type(failed.exceptions[0]).__name__)


async def _publish_alone(run: RoomRun, room: str, token: str) -> None:
    async with contextlib.AsyncExitStack() as stack:
        ws = await run.open(stack, token)
        if ws is None:
            return
        try:
            await subscribe(ws, room)
            await publish(run, ws, room)
        except* (ToolError, ConnectionClosed) as failed:  # also from inside a nursery
            run.tally.error(type(failed.exceptions[0]).__name__)


async def _recover(run: RoomRun, room: str, who: tuple[int, int], offset: int) -> None:
    subscriber = Subscriber()
    run.tally.subscribers.append(subscriber)
    async with contextlib.AsyncExitStack() as stack:
        ws = await run.open(stack, run.subscriber_token(*who))
        if ws is None:
            return
        began = time.perf_counter()
        body = {"message_type": "room_subscribe", "data": {"room_id": room, "offset": offset}}
        try:
            await ws.send_message(orjson.dumps(body).decode())
            while subscriber.recovered is None or (
                subscriber.recovered and len(subscriber.offsets) < run.plan.messages
            ):
                raw = await ws.get_message()
                _recovery_frame(run, subscriber, raw, began)
        except ConnectionClosed as exc:
            run.tally.error(type(exc).__name__)


def _recovery_frame(run: RoomRun, subscriber: Subscriber, raw: str | bytes, began: float) -> None:
    got = room_message(raw, run.run_id)
    elapsed_ms = (time.perf_counter() - began) * 1000
    if got is not None:
        subscriber.offsets.append(got[0])  # latency from publish means nothing here
        subscriber.complete_ms = elapsed_ms
        run.tally.last_received_ns = time.perf_counter_ns()
        return
    message = orjson.loads(raw)
    data = message.get("data") or {}
    if message.get("message_type") == "ack" and "rooms" in data:
        subscriber.recovered = bool(data["rooms"][0].get("recovered"))
        subscriber.recovered_ms = elapsed_ms
    elif message.get("message_type") == "error":
        run.tally.error(f"error_{data.get('code')}")
        subscriber.recovered = False
