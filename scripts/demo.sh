#!/bin/sh
# make demo: start the mock on a free port, generate an image into out/ with
# examples/generate.lua, then with the `vinano` command, then a small batch
# into out/batch/ with its journal; stops the mock.  Needs no token.
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

# the command, from the checkout (bin/vinano finds lua/ and build/ beside it)
export VINANO_BASE_URL="$url" VINANO_API_TOKEN=demo-token
echo '$ vinano generate "a lighthouse at dusk" -o out/lighthouse.png --aspect-ratio 16:9'
"$lua" bin/vinano generate "a lighthouse at dusk" -o out/lighthouse.png --aspect-ratio 16:9 || exit 1

mkdir -p out/batch
rm -f out/batch/jobs.jsonl.journal
cat > out/batch/jobs.jsonl <<'EOF'
{"prompt": "a red fox in the snow", "out": "fox.png", "aspectRatio": "3:2"}
{"prompt": "a paper boat on a pond", "out": "boat.png"}
{"prompt": "a castle on a hill", "out": "castles/castle.png", "aspectRatio": "16:9", "id": "castle"}
{"prompt": "a bowl of ramen", "out": "ramen.png", "hdPro": true}
EOF
echo '$ vinano batch out/batch/jobs.jsonl --dry-run'
"$lua" bin/vinano batch out/batch/jobs.jsonl --dry-run || exit 1
echo '$ vinano batch out/batch/jobs.jsonl --plan monthly'
"$lua" bin/vinano batch out/batch/jobs.jsonl --plan monthly || exit 1
echo "journal: out/batch/jobs.jsonl.journal ($(wc -l < out/batch/jobs.jsonl.journal) lines); images:"
ls -l out/batch/*.png out/batch/castles/*.png
