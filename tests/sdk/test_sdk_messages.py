"""The SDK's calls and receipts against a fake socket: stored sends, retries with the same id,
de-duplication, batched acks, room recovery bookkeeping and in-band token refresh.

Rules: a fake connector (tests/sdk/_fake.py) plays the server, answering as
docs/protocol.md says; Trio's `autojump_clock`, so times are exact; an outer
`trio.fail_after` in every test.
"""

from __future__ import annotations

import itertools
from typing import Any

import pytest
import trio
import trio.testing

from momentum.sdk import (
    Backoff,
    Message,
    OtherEnvelope,
    Presence,
    RequestFailed,
    RequestTimeout,
    RoomJoined,
    RoomMessage,
    ServerError,
    open_client,
)

from ._fake import BASE_URL, USER_ID, FakeConnector, FakeSocket, connected, fake_token, options_for

BOB = "ddbaa451-dc3d-43f9-a290-6042f9ba1e66"
ROOM = "3f1c8a52-6a0e-4a4b-9d1c-2b8e2f0c9a11"


def direct(message_id: str, content: str) -> dict[str, Any]:
    return {
        "id": message_id,
        "message_type": "text",
        "data": {"content": content},
        "from_user_id": BOB,
        "to_user_id": USER_ID,
    }


def room_message(offset: int) -> dict[str, Any]:
    return {
        "id": f"m{offset}",
        "message_type": "text",
        "data": {"n": offset},
        "from_user_id": BOB,
        "to_user_id": None,
        "room_id": ROOM,
        "offset": offset,
    }


async def messages_in(events: trio.MemoryReceiveChannel[Any], count: int) -> list[Message]:
    got: list[Message] = []
    while len(got) < count:
        event = await events.receive()
        if isinstance(event, Message):
            got.append(event)
    return got


async def ack(socket: FakeSocket, ref: str, **data: Any) -> None:
    await socket.push(message_type="ack", data={"ref_id": ref, **data})


async def test_send_returns_once_stored(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        async with connected() as (client, socket):
            async with trio.open_nursery() as nursery:
                results = []

                async def send() -> None:
                    results.append(await client.send(BOB, {"content": "hi"}))

                nursery.start_soon(send)
                frame = await socket.frame()
                assert frame["to_user_id"] == BOB and frame["message_type"] == "text"
                assert frame["data"] == {"content": "hi"}
                await trio.testing.wait_all_tasks_blocked()
                assert results == []  # not before the server's answer
                await ack(socket, frame["id"], message_id="mid", delivered=1, stored=True)
            assert [(r.message_id, r.delivered, r.stored) for r in results] == [("mid", 1, True)]


async def test_send_raises_the_servers_code(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        async with connected() as (client, socket):

            async def refuse() -> None:
                frame = await socket.frame()
                await socket.push(
                    message_type="error",
                    data={"code": "recipient_quota", "message": "full", "ref_id": frame["id"]},
                )
                await ack(socket, frame["id"], message_id=frame["id"], delivered=0, stored=False)
                frame = await socket.frame()
                await ack(socket, frame["id"], message_id="m2", delivered=0, stored=False)
                frame = await socket.frame()
                await ack(socket, frame["id"], message_id="m3", delivered=2, stored=True)

            async with trio.open_nursery() as nursery:
                nursery.start_soon(refuse)
                with pytest.raises(RequestFailed) as refused:
                    await client.send(BOB, {"content": "one"})
                assert refused.value.code == "recipient_quota"
                with pytest.raises(RequestFailed) as refused:
                    await client.send(BOB, {"content": "two"})
                assert refused.value.code == "not_stored"
                sent = await client.send(BOB, {"content": "three"})
                assert (sent.message_id, sent.delivered, sent.stored) == ("m3", 2, True)


async def test_a_send_without_answer_times_out_and_is_not_sent_late(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        connector = FakeConnector(outcomes=[OSError_unreachable()])
        # the first retry comes after 32 s (the seeded draw of the 100 s window)
        options = options_for(connector, request_timeout=3.0, backoff=Backoff(100.0, 100.0))
        async with open_client(BASE_URL, fake_token(), options) as client:
            started = trio.current_time()
            with pytest.raises(RequestTimeout):
                await client.send(BOB, {"content": "too late"})
            assert trio.current_time() - started == pytest.approx(3.0)
            socket = await connector.accepted.receive()
            assert trio.current_time() - started > 30
            async with trio.open_nursery() as nursery:
                nursery.start_soon(client.ping)
                frame = await socket.frame()  # the ping: the timed-out send was dropped
                assert frame["message_type"] == "ping"
                await socket.push(message_type="pong", id=frame["id"], data={})


def OSError_unreachable() -> BaseException:
    from momentum.sdk import ServerUnreachable

    return ServerUnreachable("down")


async def test_an_unanswered_send_is_sent_again_with_the_same_id(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        connector = FakeConnector()
        async with open_client(BASE_URL, fake_token(), options_for(connector)) as client:
            first = await connector.accepted.receive()
            async with trio.open_nursery() as nursery:
                results = []

                async def send() -> None:
                    results.append(await client.send(BOB, {"content": "hi"}))

                nursery.start_soon(send)
                sent = await first.frame()
                first.server_close(1012, "service restart: reconnect")
                second = await connector.accepted.receive()
                again = await second.frame()
                assert again == sent
                await ack(second, again["id"], message_id="mid", delivered=1, stored=True)
            assert results[0].message_id == "mid"


async def test_repeats_are_dropped_and_direct_messages_acked_in_batches(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        async with connected(ack_interval=0.5) as (client, socket):
            for message_id in ("a", "b", "a", "b", "c"):
                await socket.push(**direct(message_id, message_id))
            await socket.push(
                id="x", message_type="text", data={}, from_user_id=BOB, to_user_id=None
            )  # a broadcast: shown, never acknowledged
            messages = await messages_in(client.events, 4)
            assert [m.id for m in messages] == ["a", "b", "c", "x"]
            before = trio.current_time()
            assert await socket.frame() == {"message_type": "ack", "data": {"ids": ["a", "b", "c"]}}
            assert trio.current_time() - before <= 0.5


async def test_a_full_batch_is_acked_at_once(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        async with connected(ack_batch=3, ack_interval=100.0) as (client, socket):
            for message_id in ("a", "b", "c"):
                await socket.push(**direct(message_id, message_id))
            await messages_in(client.events, 3)
            start = trio.current_time()
            assert (await socket.frame())["data"]["ids"] == ["a", "b", "c"]
            assert trio.current_time() == start


async def test_rooms_recover_from_the_last_offset(autojump_clock: trio.testing.MockClock) -> None:
    with trio.fail_after(60):
        connector = FakeConnector()
        async with open_client(BASE_URL, fake_token(), options_for(connector)) as client:
            socket = await connector.accepted.receive()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(client.join, ROOM)
                frame = await socket.frame()
                assert frame["message_type"] == "room_subscribe"
                assert frame["data"] == {"room_id": ROOM}
                await ack(
                    socket, frame["id"], rooms=[{"room_id": ROOM, "offset": 3, "recovered": True}]
                )
            for offset in (4, 5, 5, 3):
                await socket.push(**room_message(offset))
            await socket.push(message_type="user_joined", data={"users": [], "count": 0})
            got: list[Any] = []
            while not isinstance(event := await client.events.receive(), Presence):
                if isinstance(event, RoomJoined | RoomMessage):
                    got.append(event)
            assert got[0] == RoomJoined(ROOM, 3, True)
            assert [e.offset for e in got[1:]] == [4, 5]  # 5 again and 3: seen already
            socket.server_close(1001, "going away")
            again = await connector.accepted.receive()
            recover = await again.frame()
            assert recover["message_type"] == "room_subscribe"
            assert recover["data"] == {"room_ids": [ROOM], "offsets": {ROOM: 5}}
            await ack(
                again, recover["id"], rooms=[{"room_id": ROOM, "offset": 9, "recovered": False}]
            )
            while not isinstance(event := await client.events.receive(), RoomJoined):
                pass
            assert event == RoomJoined(ROOM, 9, False)


async def test_a_refused_room_is_reported_and_not_recovered(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        connector = FakeConnector()
        async with open_client(BASE_URL, fake_token(), options_for(connector)) as client:
            socket = await connector.accepted.receive()

            async def refuse() -> None:
                frame = await socket.frame()
                await socket.push(
                    message_type="error",
                    data={
                        "code": "forbidden",
                        "message": "members only",
                        "ref_id": frame["id"],
                        "room_id": ROOM,
                    },
                )

            async with trio.open_nursery() as nursery:
                nursery.start_soon(refuse)
                with pytest.raises(RequestFailed) as refused:
                    await client.join(ROOM)
                assert refused.value.code == "forbidden"
            socket.server_close(1001)
            again = await connector.accepted.receive()
            await client.wait_connected()
            async with trio.open_nursery() as nursery:
                nursery.start_soon(client.ping)
                assert (await again.frame())["message_type"] == "ping"  # no room_subscribe
                nursery.cancel_scope.cancel()


async def test_unknown_types_and_noise_are_passed_on_or_ignored(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(60):
        async with connected() as (client, socket):
            await socket.push_raw("not json")
            await socket.push_raw("[1, 2]")
            await socket.push(message_type="room_user_joined", data={"room_id": ROOM})
            await socket.push(
                message_type="error", data={"code": "rate_limited", "message": "slow"}
            )
            events: list[Any] = []
            while len(events) < 2:
                event = await client.events.receive()
                if isinstance(event, OtherEnvelope | ServerError):
                    events.append(event)
            assert isinstance(events[0], OtherEnvelope)
            assert events[0].message_type == "room_user_joined"
            assert events[1] == ServerError(
                "rate_limited", "slow", {"code": "rate_limited", "message": "slow"}
            )


async def test_the_token_is_refreshed_in_band_before_it_expires(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(3600):
        connector = FakeConnector()
        start = trio.current_time()
        tokens = [fake_token(exp=start + 300 + 900 * n, tag=str(n)) for n in range(3)]
        handed = iter(tokens[1:])

        async def refresh() -> str:
            return next(handed)

        options = options_for(connector, refresh_token=refresh, refresh_before=60.0)
        async with open_client(BASE_URL, tokens[0], options):
            socket = await connector.accepted.receive()
            for n in (1, 2):
                frame = await socket.frame()
                assert frame["message_type"] == "auth"
                assert frame["data"] == {"token": tokens[n]}
                # 60 s before each expiry: 240 s in, then 60 s before the new token's exp
                assert trio.current_time() - start == pytest.approx(240 + 900 * (n - 1))
                await ack(socket, frame["id"], expires_at="…")


async def test_a_server_without_in_band_refresh_gets_the_token_at_reconnect(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(3600):
        connector = FakeConnector()
        start = trio.current_time()
        old, new = fake_token(exp=start + 300), fake_token(exp=start + 9000, tag="new")

        async def refresh() -> str:
            return new

        options = options_for(connector, refresh_token=refresh)
        async with open_client(BASE_URL, old, options):
            socket = await connector.accepted.receive()
            frame = await socket.frame()
            await socket.push(
                message_type="error",
                data={"code": "unknown_type", "message": "unknown", "ref_id": frame["id"]},
            )
            await trio.sleep(60)
            socket.server_close(4001, "token expired")
            again = await connector.accepted.receive()
            assert again.offers[1] == f"bearer.{new}"


async def test_a_failing_refresh_callback_is_said_and_tried_again(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(3600):
        start = trio.current_time()
        new = fake_token(exp=start + 5000, tag="new")
        answers: list[BaseException | str] = [RuntimeError("auth server down"), new]

        async def refresh() -> str:
            answer = answers.pop(0)
            if isinstance(answer, BaseException):
                raise answer
            return answer

        options = {"refresh_token": refresh, "refresh_before": 60.0}
        connector = FakeConnector()
        token = fake_token(exp=start + 300)
        async with open_client(BASE_URL, token, options_for(connector, **options)) as client:
            socket = await connector.accepted.receive()
            while not isinstance(event := await client.events.receive(), ServerError):
                pass
            assert event.code == "token_refresh_failed" and "auth server down" in event.message
            frame = await socket.frame()
            assert frame["data"] == {"token": new}
            # 5 s after the failure, then at half the remaining life (55 s): 272.5 s
            assert trio.current_time() - start == pytest.approx(245 + 27.5)


async def test_a_refresh_giving_no_later_expiry_does_not_spin(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(3600):
        start = trio.current_time()
        same = fake_token(exp=start + 300)
        calls: list[float] = []

        async def refresh() -> str:
            calls.append(trio.current_time() - start)
            return same

        connector = FakeConnector()
        options = options_for(connector, refresh_token=refresh, refresh_before=60.0)
        async with open_client(BASE_URL, same, options):
            socket = await connector.accepted.receive()
            with trio.move_on_after(290):
                while True:
                    frame = await socket.frame()
                    await ack(socket, frame["id"], expires_at="…")
        # 5 s after each, then half the remaining life: never a tight loop before the expiry
        assert calls[:3] == pytest.approx([240, 272.5, 288.75])
        assert all(b - a >= 5 for a, b in itertools.pairwise(calls))


async def test_a_refused_in_band_token_is_said_and_the_old_expiry_stands(
    autojump_clock: trio.testing.MockClock,
) -> None:
    with trio.fail_after(3600):
        start = trio.current_time()
        revoked = fake_token(exp=start + 5000, tag="revoked")

        async def refresh() -> str:
            return revoked

        connector = FakeConnector()
        options = options_for(connector, refresh_token=refresh, refresh_before=60.0)
        async with open_client(BASE_URL, fake_token(exp=start + 300), options) as client:
            socket = await connector.accepted.receive()
            frame = await socket.frame()
            error = {"code": "token_revoked", "message": "revoked", "ref_id": frame["id"]}
            await socket.push(message_type="error", data=error)
            while not isinstance(event := await client.events.receive(), ServerError):
                pass
            assert (event.code, client.token) == ("token_revoked", revoked)
            socket.server_close(4001, "token expired")  # at the old exp, the server closes
            again = await connector.accepted.receive()
            assert again.offers[1] == f"bearer.{revoked}"  # asked again: the callback's answer
