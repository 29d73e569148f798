#!/bin/sh
# make demo: start the mock on a free port, generate an image into out/ with
# examples/generate.lua, stop the mock.  Needs no token.
lua=${1:-lua5.4}; module=${2:-build/$lua/vinano/core.so}
cd "$(dirname "$0")/.." || exit 1
mkdir -p out
log=$(mktemp)
lua5.4 mock/bin/vinano-mock --port 0 --token demo-token --task-delay 1 > "$log" 2>&1 &
mock=$!
trap 'kill $mock 2>/dev/null; wait $mock 2>/dev/null; rm -f "$log"' EXIT INT TERM
url=""
for _ in $(seq 1 50); do
  url=$(sed -n 's/^vinano-mock listening on \(http:[^ ]*\).*/\1/p' "$log")
  [ -n "$url" ] && break
  sleep 0.1
done
[ -n "$url" ] || { echo "the mock did not start:"; cat "$log"; exit 1; }
echo "mock ViNano server at $url"
LUA_PATH="./lua/?.lua;./lua/?/init.lua;;" LUA_CPATH="./$(dirname "$(dirname "$module")")/?.so;;" \
  VINANO_BASE_URL="$url" VINANO_API_TOKEN=demo-token \
  "$lua" examples/generate.lua "a beautiful sunset over the ocean" out/sunset.png || exit 1
file out/sunset.png 2>/dev/null || ls -l out/sunset.png
