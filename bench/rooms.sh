#!/usr/bin/env bash
# Room benchmarks on one Momentum server, with `momentum stress` as the load generator.
# The reference peers have no rooms: compare room fan-out with their broadcast of the same
# size (`N=1000 bench/run.sh broadcast`), see bench/README.md.
#
# Usage: bench/rooms.sh SCENARIO
#   fanout    one publisher into a room of SUBSCRIBERS=1000 subscribers, MESSAGES=50
#             messages at RATE=0 (as fast as acks allow): deliveries/s, p50/p99 latency
#   recovery  SUBSCRIBERS=1 subscriber leaves, MESSAGES=1000 are published, it resubscribes
#             from its last offset: ms until `recovered`, until all of them (in order)
#   publish   one publisher, MESSAGES=2000 messages into a room of SUBSCRIBERS=10: the
#             publisher's throughput (acks after the commit) and latency
#
# Settings (environment): MOMENTUM_DIR (checkout whose code serves, default this one; the
# load generator is always this checkout's), MOMENTUM_PORT=9100, MOMENTUM_DATABASE_URL
# (default: a fresh SQLite file per run), BENCH_HOME=/tmp/momentum-bench (run files).
# Prints the summary of `momentum stress --json` as one line, with the load average.
set -euo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
mdir=$(cd "${MOMENTUM_DIR:-$repo}" && pwd)
home=${BENCH_HOME:-/tmp/momentum-bench}
port=${MOMENTUM_PORT:-9100}
[ $# -eq 1 ] || { sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
case $1 in
  fanout)   test_type=room;          SUBSCRIBERS=${SUBSCRIBERS:-1000}; MESSAGES=${MESSAGES:-50} ;;
  recovery) test_type=room-recovery; SUBSCRIBERS=${SUBSCRIBERS:-1};    MESSAGES=${MESSAGES:-1000} ;;
  publish)  test_type=room;          SUBSCRIBERS=${SUBSCRIBERS:-10};   MESSAGES=${MESSAGES:-2000} ;;
  *) echo "rooms.sh: unknown scenario '$1' (fanout | recovery | publish)" >&2; exit 2 ;;
esac

dir=$(mktemp -d "$home/rooms-XXXXXX" 2>/dev/null || { mkdir -p "$home"; mktemp -d "$home/rooms-XXXXXX"; })
key=bench-$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
secret=$(head -c 32 /dev/urandom | od -An -tx1 | tr -d ' \n')
db=${MOMENTUM_DATABASE_URL:-sqlite:///$dir/momentum.db}
# The server runs the code of MOMENTUM_DIR (its packages first on the path), with this
# checkout's interpreter; no rate limit, per-address limits raised (all from 127.0.0.1).
( cd "$dir" && exec env PYTHONPATH="$mdir" JWT_SECRET="$secret" MOMENTUM_API_KEY="$key" \
    DATABASE_URL="$db" WS_RATE_LIMIT=0 WS_MAX_CONNECTIONS_PER_IP=100000 \
    HTTP_MAX_PENDING_HEADS_PER_IP=1024 LOG_LEVEL=WARNING \
    "$repo/.venv/bin/python" -m momentum serve --bind "127.0.0.1:$port" \
    --config "$mdir/hypercorn.toml" ) >"$dir/server.log" 2>&1 &
server=$!
trap 'kill "$server" 2>/dev/null; wait "$server" 2>/dev/null || true' EXIT
for _ in $(seq 100); do
  curl -fs "http://127.0.0.1:$port/health" >/dev/null 2>&1 && break
  sleep 0.1
done
load=$(cut -d' ' -f1-3 /proc/loadavg)
result=$("$repo/.venv/bin/momentum" stress --test-type "$test_type" --subscribers "$SUBSCRIBERS" \
  --messages "$MESSAGES" --rate "${RATE:-0}" --rate-limit 0 --concurrency 50 \
  --drain-timeout 30 --server-url "http://127.0.0.1:$port" --api-key "$key" --json 2>"$dir/stress.err") || true
[ -n "$result" ] || { echo "rooms.sh: momentum stress failed: $(tail -c 400 "$dir/stress.err")" >&2; }
echo "{\"scenario\": \"$1\", \"momentum_dir\": \"$mdir\", \"load_average\": \"$load\", \"result\": ${result:-null}}"
