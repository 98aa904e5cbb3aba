"""Direct-message throughput through the Python SDK, for comparison with `momentum stress`.

`N` SDK clients (provisioned users) each send `M` direct messages to the next one, at most
`--window` unanswered at a time per client (the stress tool's default window), and count
what they receive. Prints one JSON line: messages/s from the first send to the last message
received and acked as stored, and the send calls' p50/p99 (send → `stored: true`).

    python bench/sdk_client.py --server-url http://127.0.0.1:9180 --api-key KEY \
        --connections 20 --messages 200

Run it beside `momentum stress --test-type throughput --rate-limit 0 --json` with the same
connections and messages, against a server started with WS_RATE_LIMIT=0 USER_RATE_LIMIT=0.
"""

from __future__ import annotations

import argparse
import json
import statistics

import trio

from momentum.sdk import Client, Message, open_client
from momentum.sdk._policy import token_subject
from momentum.tools._tokens import provision_tokens


async def run(args: argparse.Namespace) -> dict[str, float]:
    tokens = await provision_tokens(args.server_url, args.api_key, args.connections, "sdkbench")
    latencies: list[float] = []
    received = 0
    done = trio.Event()
    total = args.connections * args.messages

    async def client(index: int, ready: trio.Event, go: trio.Event) -> None:
        nonlocal received
        async with open_client(args.server_url, tokens[index]) as me:
            await me.wait_connected()
            ready.set()
            peer_token = tokens[(index + 1) % len(tokens)]
            async with trio.open_nursery() as nursery:

                async def count() -> None:
                    nonlocal received
                    async for event in me.events:
                        if isinstance(event, Message):
                            received += 1
                            if received == total:
                                done.set()

                nursery.start_soon(count)
                await go.wait()
                window = trio.Semaphore(args.window)
                to = peer_ids[peer_token]
                async with trio.open_nursery() as senders:
                    for n in range(args.messages):
                        await window.acquire()
                        senders.start_soon(send_one, me, to, n, window)
                await done.wait()
                nursery.cancel_scope.cancel()

    async def send_one(me: Client, to: str, n: int, window: trio.Semaphore) -> None:
        started = trio.current_time()
        await me.send(to, {"n": n, "pad": "x" * args.payload_size})
        latencies.append(trio.current_time() - started)
        window.release()

    peer_ids = {token: token_subject(token) for token in tokens}
    go = trio.Event()
    async with trio.open_nursery() as nursery:
        readies = [trio.Event() for _ in tokens]
        for index, ready in enumerate(readies):
            nursery.start_soon(client, index, ready, go)
        for ready in readies:
            await ready.wait()
        started = trio.current_time()
        go.set()
        await done.wait()
        seconds = trio.current_time() - started
    latencies.sort()
    return {
        "messages": total,
        "received": received,
        "seconds": round(seconds, 3),
        "per_second": round(received / seconds, 1),
        "send_p50_ms": round(statistics.median(latencies) * 1000, 2),
        "send_p99_ms": round(latencies[int(len(latencies) * 0.99) - 1] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--server-url", required=True)
    parser.add_argument("--api-key", required=True)
    parser.add_argument("--connections", type=int, default=20)
    parser.add_argument("--messages", type=int, default=200)
    parser.add_argument("--window", type=int, default=32)
    parser.add_argument("--payload-size", type=int, default=64)
    args = parser.parse_args()
    print(json.dumps(trio.run(run, args)))


if __name__ == "__main__":
    main()
