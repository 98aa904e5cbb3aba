#!/usr/bin/env bash
# Runs one benchmark scenario against each named server in turn, on 127.0.0.1, with the same
# load generator, and prints one JSON line per server on stdout (progress goes to stderr).
#
# Usage: bench/run.sh SCENARIO [SERVER...]
#   SCENARIO  storm | idle | broadcast | direct | sustained
#   SERVER    momentum | momentum-msgpack | py-websockets | node-ws
#             (default: momentum, py-websockets, node-ws, in that order); momentum-msgpack is
#             Momentum again, with the loader talking MessagePack (-format msgpack, subprotocol
#             momentum.msgpack) instead of JSON
#
# Sizes (environment; defaults per scenario):
#   storm      N=1000 C=100                     N connections, C handshakes in flight
#   idle       N=5000 C=100 HOLD=5              hold N open connections HOLD seconds
#   broadcast  N=1000 RATE=200 DURATION=5       one of N publishes RATE msg/s to all N
#   direct     N=100 MESSAGES=1000 RATE=0       each sends MESSAGES direct messages (RATE per connection, 0 = unthrottled)
#   sustained  N=200 RATE=10 DURATION=60        each sends RATE direct msg/s for DURATION s
#   also: PAYLOAD=64 (filler characters per message), DRAIN=10 (direct: 30; seconds to wait for
#         the deliveries still due after the last send),
#         SETTLE=1 (seconds between the last handshake and the first message)
#
# Other settings:
#   MOMENTUM_DIR        checkout whose .venv/bin/momentum is benchmarked (default: this repository),
#                       e.g. a worktree of another commit for before/after numbers
#   STORE=sqlite        Momentum's store: a fresh SQLite file per run (sqlite:///<run dir>/momentum.db),
#                       or STORE=postgres: a fresh database per run on BENCH_POSTGRES_URL
#                       (default postgresql://postgres@127.0.0.1:5432/test, a server where that
#                       role may create databases), dropped after the run
#   MOMENTUM_DATABASE_URL  instead of STORE: this URL as it is (a postgresql://… URL must name
#                       an empty database you can throw away)
#   MOMENTUM_PORT=9100 NODE_WS_PORT=9101 PY_WEBSOCKETS_PORT=9102
#   BENCH_HOME          cache for the peers' dependencies, the loader binary and run files
#                       (default /tmp/momentum-bench)
#   BENCH_KEEP=1        keep the run directory (server logs, tokens, raw loader output)
#
# Momentum runs as `momentum serve --bind 127.0.0.1:$MOMENTUM_PORT` with WS_RATE_LIMIT=0, the
# per-address limits raised (every loader connection comes from 127.0.0.1) and a
# JWT_SECRET shared with `momentum users create --count N --print-tokens`, which provides its
# tokens; the peers get tokens from peers/mint_tokens.py signed with the same secret.
# Each line is the loader's result plus: server, scenario, the server tree's RSS before the load
# (rss_base_kb), its peak (rss_peak_kb), the CPU seconds it used (cpu_s), and for idle the RSS
# with every connection open (rss_held_kb) and (rss_held_kb - rss_base_kb) / open connections
# (kb_per_connection).
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
repo=$(cd "$here/.." && pwd)
home=${BENCH_HOME:-/tmp/momentum-bench}
export BENCH_HOME=$home

usage() { sed -n '2,/^set -uo/p' "$0" | sed '$d; s/^# \{0,1\}//' >&2; exit 2; }
die() { echo "run.sh: $*" >&2; exit 3; }
say() { echo "bench: $*" >&2; }

[ $# -ge 1 ] || usage
case $1 in -h|--help) usage ;; esac
scenario=$1; shift
servers=("$@")
[ ${#servers[@]} -gt 0 ] || servers=(momentum py-websockets node-ws)

C=${C:-100}; PAYLOAD=${PAYLOAD:-64}; SETTLE=${SETTLE:-1}
STORE=${STORE:-sqlite}; pg_url=${BENCH_POSTGRES_URL:-postgresql://postgres@127.0.0.1:5432/test}
case $STORE in sqlite|postgres) ;; *) echo "run.sh: unknown STORE '$STORE' (sqlite | postgres)" >&2; exit 2 ;; esac
store_label=${MOMENTUM_DATABASE_URL:+url}; store_label=${store_label:-$STORE}
if [ "$scenario" = direct ]; then DRAIN=${DRAIN:-30}; else DRAIN=${DRAIN:-10}; fi
case $scenario in
  storm)     N=${N:-1000}; args=(-mode storm -c "$C") ;;
  idle)      N=${N:-5000}; HOLD=${HOLD:-5}; args=(-mode idle -c "$C" -hold "$HOLD") ;;
  broadcast) N=${N:-1000}; RATE=${RATE:-200}; DURATION=${DURATION:-5}
             args=(-mode broadcast -c "$C" -rate "$RATE" -duration "$DURATION") ;;
  direct)    N=${N:-100}; MESSAGES=${MESSAGES:-1000}; RATE=${RATE:-0}
             args=(-mode direct -c "$C" -messages "$MESSAGES" -rate "$RATE") ;;
  sustained) N=${N:-200}; RATE=${RATE:-10}; DURATION=${DURATION:-60}
             args=(-mode sustained -c "$C" -rate "$RATE" -duration "$DURATION") ;;
  *) echo "run.sh: unknown scenario '$scenario' (storm | idle | broadcast | direct | sustained)" >&2; exit 2 ;;
esac
args+=(-n "$N" -payload "$PAYLOAD" -drain "$DRAIN" -settle "$SETTLE")

# ------------------------------------------------------------------ requirements
mdir=$(cd "${MOMENTUM_DIR:-$repo}" 2>/dev/null && pwd) || die "MOMENTUM_DIR=${MOMENTUM_DIR:-} is not a directory"
missing=()
command -v python3 >/dev/null || missing+=("python3")
command -v go >/dev/null || missing+=("go (apt-get install golang-go)")
[ -f /usr/share/gocode/src/github.com/gorilla/websocket/conn.go ] ||
  missing+=("gorilla/websocket for Go (apt-get install golang-github-gorilla-websocket-dev)")
command -v timeout >/dev/null || missing+=("timeout (coreutils)")
[ "$STORE" = sqlite ] || command -v psql >/dev/null || missing+=("psql (apt-get install postgresql-client)")
for s in "${servers[@]}"; do
  case $s in
    momentum|momentum-msgpack)
      [ -x "$mdir/.venv/bin/momentum" ] ||
        missing+=("$mdir/.venv/bin/momentum (cd $mdir && python3 -m venv .venv && .venv/bin/pip install -e .)") ;;
    py-websockets) ;;
    node-ws)
      command -v node >/dev/null || missing+=("node (apt-get install nodejs)")
      command -v npm >/dev/null || missing+=("npm (apt-get install npm)") ;;
    *) die "unknown server '$s' (momentum | momentum-msgpack | py-websockets | node-ws)" ;;
  esac
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "run.sh: missing requirements:" >&2
  printf '  - %s\n' "${missing[@]}" >&2
  exit 3
fi

want=()
for s in "${servers[@]}"; do
  case $s in py-websockets) want+=(python) ;; node-ws) want+=(node) ;; esac
done
if [ ${#want[@]} -gt 0 ]; then
  "$here/peers/setup.sh" "${want[@]}" >/dev/null || die "installing the peers' dependencies failed"
fi
loader=$("$here/loader/build.sh" "$home/bin/momentum-loader") || die "building the loader failed"

# the loader and the server each hold N sockets
ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
fds=$(ulimit -n)
if [ "$fds" != unlimited ] && [ "$fds" -lt $((N + 200)) ]; then
  die "N=$N needs more open files than 'ulimit -n' allows ($fds)"
fi

secret=${BENCH_JWT_SECRET:-$(python3 -c 'import secrets; print(secrets.token_urlsafe(48))')}
mkdir -p "$home/runs"
rundir=$(mktemp -d "$home/runs/$scenario.XXXXXX")

# ------------------------------------------------------------------ process bookkeeping
spid= lpid= mpid= pgdb=
descendants() { local p; for p in $(pgrep -P "$1" 2>/dev/null); do echo "$p"; descendants "$p"; done; }
alive() { [ -n "$1" ] && kill -0 "$1" 2>/dev/null && [ "$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null)" != Z ]; }
stop_server() {
  [ -n "$spid" ] || return 0
  local pids p i
  pids="$spid $(descendants "$spid")"
  kill -TERM $pids 2>/dev/null
  for i in $(seq 150); do
    alive "$spid" || break
    sleep 0.1
  done
  for p in $pids; do alive "$p" && kill -KILL "$p" 2>/dev/null; done
  wait "$spid" 2>/dev/null
  spid=
}
drop_database() {
  [ -n "$pgdb" ] || return 0
  psql "$pg_url" -qc "DROP DATABASE IF EXISTS $pgdb WITH (FORCE)" >/dev/null 2>&1
  pgdb=
}
cleanup() {
  [ -n "$lpid" ] && alive "$lpid" && kill -TERM "$lpid" 2>/dev/null
  [ -n "$mpid" ] && alive "$mpid" && kill -TERM "$mpid" 2>/dev/null
  stop_server
  drop_database
  if [ "${BENCH_KEEP:-0}" = 1 ]; then say "run files kept in $rundir"; else rm -rf "$rundir"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

listening() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_listening() { # PORT: up to 30 s, while the server lives
  local i
  for i in $(seq 300); do
    listening "$1" && return 0
    alive "$spid" || return 1
    sleep 0.1
  done
  return 1
}

error_line() { # SERVER MESSAGE
  python3 -c 'import json,sys; print(json.dumps({"server": sys.argv[1], "scenario": sys.argv[2], "error": sys.argv[3]}))' \
    "$1" "$scenario" "$2"
}

# outer bound for one loader run (its own watchdog normally ends it first)
limit=$(python3 -c '
import sys
n, hold, dur, drain, msgs, rate = (float(x or 0) for x in sys.argv[1:])
t = 120 + n / 10 + hold + 2 * dur + 2 * drain
if msgs:
    t += n * msgs / 500 + (2 * msgs / rate if rate else 0)
print(int(t))' "$N" "${HOLD:-0}" "${DURATION:-0}" "$DRAIN" "${MESSAGES:-0}" "${RATE:-0}")

say "$scenario: N=$N ${args[*]}"

# ------------------------------------------------------------------ one server
run_one() {
  local server=$1 dir port url tokens log
  dir=$rundir/$server
  mkdir -p "$dir"
  log=$dir/server.log
  tokens=$dir/tokens.txt
  case $server in
    momentum|momentum-msgpack) port=${MOMENTUM_PORT:-9100} ;;
    node-ws)       port=${NODE_WS_PORT:-9101} ;;
    py-websockets) port=${PY_WEBSOCKETS_PORT:-9102} ;;
  esac
  url=ws://127.0.0.1:$port/ws
  if listening "$port"; then
    error_line "$server" "port $port is already in use: stop what listens there, or choose another port"
    return
  fi

  local format=json
  [ "$server" = momentum-msgpack ] && format=msgpack
  case $server in
    momentum|momentum-msgpack)
      local db=${MOMENTUM_DATABASE_URL:-sqlite:///$dir/momentum.db}
      if [ "$STORE" = postgres ] && [ -z "${MOMENTUM_DATABASE_URL:-}" ]; then
        pgdb=momentum_bench_$(date +%s)_$$
        if ! psql "$pg_url" -qc "CREATE DATABASE $pgdb" >"$dir/createdb.log" 2>&1; then
          pgdb=
          error_line "$server" "creating a database on $pg_url failed: $(tail -c 300 "$dir/createdb.log")"
          return
        fi
        db=${pg_url%/*}/$pgdb
      fi
      say "$server: creating $N users ($mdir)"
      if ! env JWT_SECRET="$secret" DATABASE_URL="$db" "$mdir/.venv/bin/momentum" users create \
           --count "$N" --prefix bench --print-tokens >"$tokens" 2>"$dir/users.log"; then
        error_line "$server" "momentum users create failed: $(tail -c 300 "$dir/users.log")"
        return
      fi
      ( cd "$dir" && exec env JWT_SECRET="$secret" DATABASE_URL="$db" WS_RATE_LIMIT=0 WS_MAX_CONNECTIONS_PER_IP=100000 HTTP_MAX_PENDING_HEADS_PER_IP=1024 LOG_LEVEL=WARNING \
          "$mdir/.venv/bin/momentum" serve --bind "127.0.0.1:$port" --config "$mdir/hypercorn.toml" ) \
          >"$log" 2>&1 &
      spid=$! ;;
    py-websockets)
      python3 "$here/peers/mint_tokens.py" "$N" "$secret" >"$tokens"
      ( exec env PORT="$port" BENCH_JWT_SECRET="$secret" "$home/peers-venv/bin/python" "$here/peers/py_websockets.py" ) \
          >"$log" 2>&1 &
      spid=$! ;;
    node-ws)
      python3 "$here/peers/mint_tokens.py" "$N" "$secret" >"$tokens"
      ( exec env PORT="$port" BENCH_JWT_SECRET="$secret" NODE_PATH="$home/peers-node/node_modules" \
          node "$here/peers/node_ws.js" ) >"$log" 2>&1 &
      spid=$! ;;
  esac
  say "$server: starting on 127.0.0.1:$port"
  if ! wait_listening "$port"; then
    error_line "$server" "did not listen on $port: $(tail -c 400 "$log")"
    stop_server
    drop_database
    return
  fi
  sleep 1 # let the server settle before the baseline sample

  say "$server: running the loader"
  # the loader starts half a second late so that the sampler's first sample is the baseline
  ( sleep 0.5; exec timeout -k 5 "$limit" "$loader" -url "$url" -tokens "$tokens" -format "$format" "${args[@]}" ) \
      >"$dir/loader.json" 2>"$dir/loader.err" &
  lpid=$!
  python3 "$here/sample.py" "$spid" "$lpid" "$dir/loader.err" >"$dir/sample.json" &
  mpid=$!
  wait "$lpid"; local rc=$?
  lpid=
  wait "$mpid"
  mpid=
  local died=0
  alive "$spid" || died=1
  stop_server
  drop_database

  python3 - "$server" "$scenario" "$dir" "$rc" "$died" "$mdir" "$store_label" <<'EOF'
import json, subprocess, sys
server, scenario, d, rc, died, mdir, store = sys.argv[1:8]
line = {"server": server, "scenario": scenario, "format": "msgpack" if server == "momentum-msgpack" else "json"}
if server.startswith("momentum"):
    line["checkout"] = mdir
    line["store"] = store
    try:
        line["commit"] = subprocess.run(["git", "-C", mdir, "rev-parse", "--short", "HEAD"],
                                        capture_output=True, text=True, check=True).stdout.strip()
    except Exception:
        pass
try:
    sample = json.load(open(f"{d}/sample.json"))
except Exception:
    sample = {}
try:
    result = json.loads(open(f"{d}/loader.json").read().strip().splitlines()[-1])
except Exception:
    err = open(f"{d}/loader.err", errors="replace").read().strip()[-300:]
    result = {"error": f"loader exited with status {rc}: {err}"}
line.update(sample)
if "rss_held_kb" in sample and result.get("open_at_end"):
    line["kb_per_connection"] = round((sample["rss_held_kb"] - sample["rss_base_kb"]) / result["open_at_end"], 1)
if died == "1":
    line["server_exited_during_run"] = True
line.update(result)
print(json.dumps(line), flush=True)
EOF
}

first=1
for server in "${servers[@]}"; do
  [ $first = 1 ] || sleep 2 # let the previous server's sockets and CPU quiet down
  first=0
  run_one "$server"
done
