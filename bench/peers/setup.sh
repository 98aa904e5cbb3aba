#!/usr/bin/env bash
# Installs the reference servers' dependencies into a cache directory, from PyPI and npm only:
#   $BENCH_HOME/peers-venv   Python venv with websockets and PyJWT   (py_websockets.py)
#   $BENCH_HOME/peers-node   node_modules with ws and jsonwebtoken   (node_ws.js)
# BENCH_HOME defaults to /tmp/momentum-bench. Nothing is installed twice: a second run only
# checks. Usage: bench/peers/setup.sh [python|node ...]   (default: both)
set -euo pipefail
home=${BENCH_HOME:-/tmp/momentum-bench}
want=("$@")
[ ${#want[@]} -gt 0 ] || want=(python node)
mkdir -p "$home"

for what in "${want[@]}"; do
  case $what in
    python)
      venv=$home/peers-venv
      if ! "$venv/bin/python" -c 'import websockets.asyncio.server, jwt' 2>/dev/null; then
        command -v python3 >/dev/null || { echo "setup.sh: python3 is missing" >&2; exit 3; }
        if [ ! -x "$venv/bin/python" ]; then
          python3 -m venv "$venv" || {
            echo "setup.sh: python3 -m venv failed (apt-get install python3-venv)" >&2; exit 3; }
        fi
        "$venv/bin/pip" install --quiet --disable-pip-version-check \
          'websockets>=14,<17' 'PyJWT>=2.8,<3' >&2
      fi
      ;;
    node)
      dir=$home/peers-node
      if [ ! -f "$dir/node_modules/ws/package.json" ] || [ ! -f "$dir/node_modules/jsonwebtoken/package.json" ]; then
        missing=()
        command -v node >/dev/null || missing+=(nodejs)
        command -v npm >/dev/null || missing+=(npm)
        if [ ${#missing[@]} -gt 0 ]; then
          echo "setup.sh: missing: ${missing[*]} (apt-get install ${missing[*]})" >&2; exit 3
        fi
        mkdir -p "$dir"
        [ -f "$dir/package.json" ] || echo '{"name":"momentum-bench-peers","private":true}' >"$dir/package.json"
        (cd "$dir" && npm install --silent --no-audit --no-fund \
          'ws@^8' 'jsonwebtoken@^9' >&2)
      fi
      ;;
    *) echo "setup.sh: unknown component $what (python | node)" >&2; exit 2 ;;
  esac
done
echo "$home"
