#!/usr/bin/env bash
# Direct-message latency across two nodes of a cluster against one node, and the Redis
# commands each message costs: two `momentum serve` processes on one PostgreSQL database and a
# private redis-server, driven by the repository's loader in `sustained` mode. Prints one JSON
# line per case on stdout (progress goes to stderr).
#
# Usage: bench/cluster.sh [CASE...]       CASE: same | cross (default: both, in that order)
#   same   every connection on node A: the Redis hop is not on the path
#   cross  connections alternate between node A and node B, and every message goes from a
#          sender on one node to a recipient on the other (the loader's -url2)
#
# Sizes (environment): N=200 connections, RATE=10 direct msg/s per connection, DURATION=20 s,
#   PAYLOAD=64, DRAIN=10.
# Other settings: MOMENTUM_DIR (checkout whose .venv is run; default: this repository),
#   PG_URL=postgresql://postgres@127.0.0.1:5432 (a throw-away database is created and dropped
#   there), REDIS_PORT=6391 NODE_A_PORT=9110 NODE_B_PORT=9111, BENCH_HOME=/tmp/momentum-bench,
#   BENCH_KEEP=1 keeps the run directory.
#
# Each line is the loader's result plus: case, and the Redis commands counted by
# `INFO commandstats` during the run: publish_calls, other_calls, publishes_per_message.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
home=${BENCH_HOME:-/tmp/momentum-bench}
mdir=$(cd "${MOMENTUM_DIR:-$repo}" && pwd)
cases=("$@")
[ ${#cases[@]} -gt 0 ] || cases=(same cross)
N=${N:-200}; RATE=${RATE:-10}; DURATION=${DURATION:-20}; PAYLOAD=${PAYLOAD:-64}; DRAIN=${DRAIN:-10}
PG_URL=${PG_URL:-postgresql://postgres@127.0.0.1:5432}
REDIS_PORT=${REDIS_PORT:-6391}; A=${NODE_A_PORT:-9110}; B=${NODE_B_PORT:-9111}

say() { echo "bench: $*" >&2; }
die() { echo "cluster.sh: $*" >&2; exit 3; }
for need in redis-server redis-cli psql python3; do
  command -v "$need" >/dev/null || die "missing $need"
done
[ -x "$mdir/.venv/bin/momentum" ] || die "missing $mdir/.venv/bin/momentum (scripts/check creates it)"
loader=$("$here/loader/build.sh" "$home/bin/momentum-loader") || die "building the loader failed"

mkdir -p "$home/runs"
rundir=$(mktemp -d "$home/runs/cluster.XXXXXX")
db=momentum_bench_$$
secret=$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
  for p in "${pids[@]}"; do timeout 20 tail --pid="$p" -f /dev/null 2>/dev/null; kill -KILL "$p" 2>/dev/null; done
  psql -q "$PG_URL/postgres" -c "DROP DATABASE IF EXISTS $db" >/dev/null 2>&1
  if [ "${BENCH_KEEP:-0}" = 1 ]; then say "run files kept in $rundir"; else rm -rf "$rundir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_listening() { for _ in $(seq 300); do listening "$1" && return 0; sleep 0.1; done; return 1; }
for port in "$REDIS_PORT" "$A" "$B"; do listening "$port" && die "port $port is in use"; done

redis-server --port "$REDIS_PORT" --bind 127.0.0.1 --save "" --appendonly no >"$rundir/redis.log" 2>&1 &
pids+=($!)
wait_listening "$REDIS_PORT" || die "redis-server did not start"
psql -q "$PG_URL/postgres" -c "CREATE DATABASE $db" >/dev/null || die "cannot create database $db"
env=(JWT_SECRET="$secret" DATABASE_URL="$PG_URL/$db" REDIS_URL="redis://127.0.0.1:$REDIS_PORT/0"
     WS_RATE_LIMIT=0 WS_MAX_CONNECTIONS_PER_USER=100 WS_MAX_CONNECTIONS_PER_IP=100000 HTTP_MAX_PENDING_HEADS_PER_IP=1024
     LOG_LEVEL=WARNING)
say "creating $N users"
env "${env[@]}" "$mdir/.venv/bin/momentum" users create --count "$N" --prefix bench --print-tokens \
  >"$rundir/tokens.txt" 2>"$rundir/users.log" || die "users create failed: $(tail -c 300 "$rundir/users.log")"
for port in "$A" "$B"; do
  ( cd "$rundir" && exec env "${env[@]}" "$mdir/.venv/bin/momentum" serve --bind "127.0.0.1:$port" \
      --config "$mdir/hypercorn.toml" ) >"$rundir/node-$port.log" 2>&1 &
  pids+=($!)
  wait_listening "$port" || die "node on $port did not start: $(tail -c 300 "$rundir/node-$port.log")"
done
sleep 2  # the nodes see each other's heartbeat

calls() { # the calls of each Redis command so far, as "publish other"
  redis-cli -p "$REDIS_PORT" INFO commandstats | python3 -c '
import re, sys
counts = {m[0]: int(m[1]) for m in re.findall(r"cmdstat_(\w+):calls=(\d+)", sys.stdin.read())}
publish = counts.pop("publish", 0)
counts.pop("info", None)
print(publish, sum(counts.values()))'
}

for case in "${cases[@]}"; do
  args=(-mode sustained -n "$N" -rate "$RATE" -duration "$DURATION" -payload "$PAYLOAD" -drain "$DRAIN"
        -tokens "$rundir/tokens.txt" -url "ws://127.0.0.1:$A/ws")
  case $case in
    same) ;;
    cross) args+=(-url2 "ws://127.0.0.1:$B/ws") ;;
    *) die "unknown case '$case' (same | cross)" ;;
  esac
  say "$case: ${args[*]}"
  read -r pub0 other0 < <(calls)
  "$loader" "${args[@]}" >"$rundir/$case.json" 2>"$rundir/$case.err"
  read -r pub1 other1 < <(calls)
  python3 - "$rundir/$case.json" "$case" $((pub1 - pub0)) $((other1 - other0)) <<'EOF'
import json, sys
path, case, publish, other = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4])
lines = [line for line in open(path) if line.strip()]
result = json.loads(lines[-1]) if lines else {"error": "the loader printed nothing"}
sent = result.get("sent") or 0
result.update(case=case, publish_calls=publish, other_calls=other,
              publishes_per_message=round(publish / sent, 3) if sent else None)
print(json.dumps(result))
EOF
done
