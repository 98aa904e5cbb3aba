#!/usr/bin/env bash
# Builds the load generator from Debian's Go toolchain and gorilla/websocket source package,
# offline: GOPATH mode (no go.mod, no module proxy), the library read from /usr/share/gocode.
#
# Usage: bench/loader/build.sh [OUT]     (default OUT: ${BENCH_HOME:-/tmp/momentum-bench}/bin/momentum-loader)
# Needs: apt-get install golang-go golang-github-gorilla-websocket-dev
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-${BENCH_HOME:-/tmp/momentum-bench}/bin/momentum-loader}
gocode=/usr/share/gocode
missing=()
command -v go >/dev/null || missing+=(golang-go)
[ -f "$gocode/src/github.com/gorilla/websocket/conn.go" ] || missing+=(golang-github-gorilla-websocket-dev)
if [ ${#missing[@]} -gt 0 ]; then
  echo "build.sh: missing Debian packages: ${missing[*]} (apt-get install ${missing[*]})" >&2
  exit 3
fi
# up to date: nothing to do
if [ -x "$out" ] && [ "$out" -nt "$here/main.go" ] && [ "$out" -nt "$here/msgpack.go" ]; then echo "$out"; exit 0; fi
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/src/momentum-loader" "$(dirname "$out")"
cp "$here/main.go" "$here/msgpack.go" "$work/src/momentum-loader/"
( cd "$work/src/momentum-loader" &&
  GOPATH="$work:$gocode" GO111MODULE=off GOFLAGS= GOPROXY=off GOCACHE="$work/cache" \
    go build -o "$out.tmp" . )
mv "$out.tmp" "$out"
echo "$out"
