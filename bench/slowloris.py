"""Slow request heads against a running server, and what a legitimate probe meanwhile gets.

    python bench/slowloris.py --port 9400 --heads 500 --sources 1
    python bench/slowloris.py --port 9400 --heads 500 --sources 100

Keeps `--heads` connections open that each sent half a request head, spread over
`--sources` loopback addresses (127.0.1.1, 127.0.1.2, …; Linux routes all of 127/8 to
loopback), reopening those the server drops at up to `--rate` connects per second. After a
warm-up it probes `GET /health` from 127.0.0.2 every `--every` seconds for `--duration`
seconds and prints one JSON line: probes answered 200, their latency, and how many attack
connections the server dropped. Loopback only, and bounded: run it against a test server.
"""

from __future__ import annotations

import argparse
import json
import socket
import time

import trio

HALF_HEAD = b"GET /health HTTP/1.1\r\nHost: bench\r\n"


async def connect(port: int, source: str) -> trio.SocketStream:
    sock = trio.socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    await sock.bind((source, 0))
    await sock.connect(("127.0.0.1", port))
    return trio.SocketStream(sock)


async def hold(
    port: int, source: str, tickets: trio.MemoryReceiveChannel[None], stats: dict[str, int]
) -> None:
    """One slow head, reopened whenever the server drops it (a ticket per connect)."""
    while True:
        await tickets.receive()
        try:
            stream = await connect(port, source)
            await stream.send_all(HALF_HEAD)
        except (OSError, trio.BrokenResourceError):
            stats["connect_failed"] += 1
            continue
        stats["opened"] += 1
        try:
            while await stream.receive_some(1024):
                pass
        except trio.BrokenResourceError:
            pass
        stats["dropped"] += 1
        await stream.aclose()


async def pace(tickets: trio.MemorySendChannel[None], rate: float) -> None:
    """One connect ticket every 1/rate s, to whichever holder waits for one."""
    while True:
        await tickets.send(None)
        await trio.sleep(1 / rate)


async def probe(port: int) -> float | None:
    """Seconds until a complete `200` answer to GET /health, or None."""
    started = time.perf_counter()
    try:
        with trio.fail_after(15):
            stream = await connect(port, "127.0.0.2")
            async with stream:
                await stream.send_all(
                    b"GET /health HTTP/1.1\r\nHost: bench\r\nConnection: close\r\n\r\n"
                )
                answer = b""
                while not complete(answer) and (chunk := await stream.receive_some(65536)):
                    answer += chunk
    except (OSError, trio.BrokenResourceError, trio.TooSlowError):
        return None
    return time.perf_counter() - started if answer.startswith(b"HTTP/1.1 200") else None


def complete(answer: bytes) -> bool:
    """The head and the `content-length` bytes of body have arrived."""
    head, sep, body = answer.partition(b"\r\n\r\n")
    if not sep:
        return False
    for line in head.lower().split(b"\r\n"):
        if line.startswith(b"content-length:"):
            return len(body) >= int(line.split(b":", 1)[1])
    return True


def summary(
    latencies: list[float | None], stats: dict[str, int], args: argparse.Namespace
) -> dict[str, object]:
    ok = sorted(x * 1000 for x in latencies if x is not None)

    def pct(p: float) -> float | None:
        return round(ok[min(len(ok) - 1, int(p * len(ok)))], 1) if ok else None

    return {
        "heads": args.heads,
        "sources": args.sources,
        "rate": args.rate,
        "probes": len(latencies),
        "answered": len(ok),
        "latency_ms": {"p50": pct(0.5), "p90": pct(0.9), "max": round(ok[-1], 1) if ok else None},
        **stats,
    }


async def main(args: argparse.Namespace) -> None:
    stats = {"opened": 0, "dropped": 0, "connect_failed": 0}
    send, receive = trio.open_memory_channel[None](0)
    latencies: list[float | None] = []
    async with trio.open_nursery() as nursery:
        nursery.start_soon(pace, send, args.rate)
        for n in range(args.heads):
            source = f"127.0.1.{n % args.sources + 1}"
            nursery.start_soon(hold, args.port, source, receive, stats)
        await trio.sleep(args.warmup)
        end = trio.current_time() + args.duration
        while trio.current_time() < end:
            latencies.append(await probe(args.port))
            await trio.sleep(args.every)
        nursery.cancel_scope.cancel()
    print(json.dumps(summary(latencies, stats, args)))


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--heads", type=int, default=500)
    parser.add_argument("--sources", type=int, default=1, choices=range(1, 255), metavar="1..254")
    parser.add_argument("--rate", type=float, default=100.0, help="connects per second")
    parser.add_argument("--warmup", type=float, default=10.0)
    parser.add_argument("--duration", type=float, default=25.0)
    parser.add_argument("--every", type=float, default=0.5)
    trio.run(main, parser.parse_args())
