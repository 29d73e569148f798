#!/usr/bin/env bash
# bench/run.sh: vinano against raw libcurl and the other ways Lua code calls
# an HTTPS API, on a local nginx (HTTPS, HTTP/2, keep-alive) that answers
# the ViNano endpoints with fixed bodies.  Loopback only.  Prints one table
# (also saved to out/bench.txt) and the side measurements: peak memory of a
# 100 MB upload and download, the cost of require (alone, and with the
# first vinano.new, which loads libcurl), wake-ups of a luv host (LuaJIT +
# luv, and Neovim when nvim is installed) while a request waits 10 s, step(0)
# with 256 transfers in flight, and callgrind instruction counts per request
# (with where they go: out/callgrind/).
#
#   bash bench/run.sh            (make bench)
#
# Environment:
#   BENCH_ROUNDS=9   rounds per contender (the table shows the median)
#   BENCH_QUICK=1    fewer requests and rounds: a smoke run of everything
#   BENCH_PIN=0      no CPU pinning (see bench/README.md for why it pins)
#   BENCH_ONLY=callgrind  only the instruction counts (a profiling loop)
#   BENCH_ONLY=serve      only the server, until interrupted (its address, CA
#                         and token on stderr, and in $BENCH_SERVE_ENV if set)
#   BENCH_OUT=FILE   where the report is saved (default out/bench.txt)
#   VINANO_TREE=DIR  measure the vinano of another tree (its lua/ and build/,
#                    built here with make)
#   VINANO_TREE_B=DIR a second tree measured in the same rounds, rows marked
#                    [B]: a before/after comparison of a patch
set -euo pipefail

ROOT=$(cd "$(dirname "$0")/.." && pwd)
BENCH=$ROOT/bench
TREE=$(cd "${VINANO_TREE:-$ROOT}" && pwd)
TREEB=""
[ -z "${VINANO_TREE_B:-}" ] || TREEB=$(cd "$VINANO_TREE_B" && pwd)
OUT=${BENCH_OUT:-$ROOT/out/bench.txt}
ROUNDS=${BENCH_ROUNDS:-9}
QUICK=${BENCH_QUICK:-0}
ONLY=${BENCH_ONLY:-}
TOKEN=bench-token
T_START=$(date +%s)

log() { printf 'bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# ---------------------------------------------------------------- packages
PKGS="make gcc pkg-config openssl curl valgrind libcurl4-openssl-dev lua5.4 liblua5.4-dev luajit libluajit-5.1-dev lua-cjson lua-socket lua-sec lua-luv"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
NGINX=$(command -v nginx || true)
[ -n "$NGINX" ] || [ ! -x /usr/sbin/nginx ] || NGINX=/usr/sbin/nginx
[ -n "$NGINX" ] || missing="$missing nginx"
if [ -n "$missing" ]; then
  if [ "$(id -u)" != 0 ]; then
    die "missing Debian packages; run: sudo apt-get update && sudo apt-get install -y$missing"
  fi
  log "installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  updated=0
  for try in 1 2 3 4 5 6 7 8 9 10; do
    # DPkg::Lock::Timeout waits while another installer holds dpkg's lock
    if [ "$updated" = 1 ] || apt-get -o DPkg::Lock::Timeout=120 update -qq; then
      updated=1
      # shellcheck disable=SC2086
      if apt-get -o DPkg::Lock::Timeout=120 install -y -qq $missing >/dev/null; then break; fi
    fi
    [ "$try" = 10 ] && die "apt-get failed 10 times"
    log "apt-get failed (dpkg busy with another installer?); retrying in 10 s"
    sleep 10
  done
  NGINX=$(command -v nginx || echo /usr/sbin/nginx)
fi

# Other work on the machine skews every number: measure it first.
cpu_busy() { # percent of all vCPUs busy over one second
  local a b
  a=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)
  sleep 1
  b=$(awk '/^cpu / { print $2 + $3 + $4 + $7 + $8, $5 + $6 }' /proc/stat)
  echo "$a $b" | awk '{ busy = $3 - $1; idle = $4 - $2; printf "%.0f", (busy + idle) ? 100 * busy / (busy + idle) : 0 }'
}
BUSY_BEFORE=$(cpu_busy)
[ "$BUSY_BEFORE" -lt 10 ] || log "warning: the machine is already ${BUSY_BEFORE}% busy; the numbers will be skewed"

# ------------------------------------------------------------------- build
log "building the module (make, make LUA=luajit) in $TREE"
make -C "$TREE" --no-print-directory >&2
make -C "$TREE" --no-print-directory LUA=luajit >&2
if [ ! -f "$TREE/build/lua5.4/vinano/core.so" ] || [ ! -f "$TREE/build/luajit/vinano/core.so" ]; then
  die "build/lua5.4 or build/luajit has no vinano/core.so"
fi
if [ -n "$TREEB" ]; then
  log "building tree B in $TREEB"
  make -C "$TREEB" --no-print-directory >&2
  make -C "$TREEB" --no-print-directory LUA=luajit >&2
fi

TMP=$(mktemp -d "${TMPDIR:-/tmp}/vinano-bench.XXXXXX")
NGINX_PID=""
cleanup() {
  if [ -n "$NGINX_PID" ]; then
    kill "$NGINX_PID" 2>/dev/null || true
    wait "$NGINX_PID" 2>/dev/null || true
  fi
  local j
  for j in $(jobs -p); do kill "$j" 2>/dev/null || true; done
  rm -rf "$TMP"
}
trap cleanup EXIT
trap 'exit 130' INT TERM HUP

read -r -a CURL_FLAGS <<< "$(pkg-config --cflags --libs libcurl 2>/dev/null || echo -lcurl)"
cc -O2 -Wall -o "$TMP/floor" "$BENCH/floor.c" "${CURL_FLAGS[@]}"
FLOOR=$TMP/floor

# ------------------------------------------------------- certificate, files
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2 \
  -keyout "$TMP/key.pem" -out "$TMP/cert.pem" -subj /CN=localhost \
  -addext "subjectAltName=DNS:localhost,IP:127.0.0.1" 2>/dev/null
CA=$TMP/cert.pem
W=$TMP/www
mkdir -p "$W/api/v2/images" "$W/api/v1/images" "$W/slow/api/v2/images" "$W/_body" "$W/files" "$TMP/dl"
for tag in luajit nvim; do
  mkdir -p "$W/hold10/$tag/api/v2/images"
  echo x > "$W/hold10/$tag/api/v2/images/generate"
done
# the static module must find a file before it answers a POST with 405
echo x > "$W/api/v2/images/generate"
echo x > "$W/api/v1/images/async"
echo x > "$W/slow/api/v2/images/generate"
cat > "$W/_body/generate.json" <<'EOF'
{"status":200,"images":["https://cdn.vinano.ai/generated/2025/06/01/7c9e6679-7425-40de-944b-e07fc1f90ae7.png"],"imageDetails":[{"width":1344,"height":768,"filesize":1843256}],"uuid":"7c9e6679-7425-40de-944b-e07fc1f90ae7","prompt":"a beautiful sunset over the ocean","model":"gemini-2.5-flash-image-preview","credits":{"cost":10}}
EOF
cp "$W/_body/generate.json" "$W/_body/status.json"
cat > "$W/_body/async.json" <<'EOF'
{"status":202,"task_id":"task_8f14e45fceea167a5a36dedd4bea2543","message":"Task submitted successfully","model":"gemini-2.5-flash-image-preview","credits":{"cost":10}}
EOF
# two small images (PNG signature, random bytes) and the 100 MB ones
for spec in a:16384 b:32768; do
  f=$TMP/${spec%%:*}.png
  printf '\211PNG\r\n\032\n' > "$f"
  head -c "${spec#*:}" /dev/urandom >> "$f"
done
BIG=104857600
fallocate -l $BIG "$TMP/upload.png" 2>/dev/null || dd if=/dev/zero of="$TMP/upload.png" bs=1M count=100 status=none
fallocate -l $BIG "$W/files/big.bin" 2>/dev/null || dd if=/dev/zero of="$W/files/big.bin" bs=1M count=100 status=none
IMAGES=("$TMP/a.png" "$TMP/b.png")

# ------------------------------------------------------------ CPU pinning
# The server on vCPU 0 and the clients on vCPU 1; for the one-request-at-
# a-time contenders the server moves to vCPU 1 too (see bench/README.md).
PIN=()
if [ "${BENCH_PIN:-1}" = 1 ] && [ "$(nproc)" -ge 2 ] && command -v taskset >/dev/null; then PIN=(taskset -c 1); fi
children() { awk -v p="$1" '$4 == p { print $1 }' /proc/[0-9]*/stat 2>/dev/null || true; }
server_cpu() {
  [ ${#PIN[@]} -gt 0 ] || return 0
  local c
  for c in $(children "$NGINX_PID"); do taskset -pc "$1" "$c" >/dev/null 2>&1 || true; done
}

# ------------------------------------------------------------------- nginx
USER_LINE=""
[ "$(id -u)" = 0 ] && USER_LINE="user root;"
for try in 1 2 3 4 5; do
  PORT=$((20000 + RANDOM % 30000))
  sed -e "s#@DIR@#$TMP#g" -e "s#@PORT@#$PORT#g" -e "s#@USER_LINE@#$USER_LINE#" \
    "$BENCH/nginx.conf.in" > "$TMP/nginx.conf"
  if [ ${#PIN[@]} -gt 0 ]; then
    taskset -c 0 "$NGINX" -p "$TMP" -e "$TMP/error.log" -c "$TMP/nginx.conf" 2>>"$TMP/nginx.out" &
  else
    "$NGINX" -p "$TMP" -e "$TMP/error.log" -c "$TMP/nginx.conf" 2>>"$TMP/nginx.out" &
  fi
  NGINX_PID=$!
  up=0
  for _ in $(seq 1 50); do
    if curl -sS -o /dev/null --cacert "$CA" "https://127.0.0.1:$PORT/api/v1/images/task-status?task_id=x" 2>/dev/null; then
      up=1
      break
    fi
    kill -0 "$NGINX_PID" 2>/dev/null || break
    sleep 0.1
  done
  [ "$up" = 1 ] && break
  kill "$NGINX_PID" 2>/dev/null || true
  wait "$NGINX_PID" 2>/dev/null || true
  NGINX_PID=""
done
[ -n "$NGINX_PID" ] || die "nginx did not start: $(tail -5 "$TMP/nginx.out" "$TMP/error.log" 2>/dev/null)"
BASE=https://127.0.0.1:$PORT
log "nginx (pid $NGINX_PID) on $BASE"
# a finished task's image is a small file on this server (what the batch downloads)
cp "$TMP/a.png" "$W/files/img.png"
sed "s|https://cdn.vinano.ai/generated/[^\"]*|$BASE/files/img.png|" "$W/_body/generate.json" > "$W/_body/status.json"

# keep-alive, both protocols: the second request must reuse the connection
for proto in --http2 --http1.1; do
  v=$(curl -sS -v "$proto" --cacert "$CA" -H "Authorization: Bearer $TOKEN" -F prompt=x -F image=@"$TMP/a.png" \
    "$BASE/api/v2/images/generate" "$BASE/api/v2/images/generate" 2>&1 >/dev/null)
  echo "$v" | grep -q "Re-using existing connection" || die "keep-alive check failed ($proto): $v"
  [ "$(echo "$v" | grep -c '^< HTTP/[0-9.]* 200')" = 2 ] || die "keep-alive check: not two 200s ($proto): $v"
done
log "keep-alive: HTTP/2 and HTTP/1.1 reuse the connection for a second multipart POST"
if [ "$ONLY" = serve ]; then # the server alone, for measuring by hand (strace, perf, a patched tree)
  log "serving until interrupted: BASE=$BASE CA=$CA TOKEN=$TOKEN (images: ${IMAGES[*]})"
  echo "BASE=$BASE CA=$CA TOKEN=$TOKEN FLOOR=$FLOOR" > "${BENCH_SERVE_ENV:-/dev/null}"
  wait "$NGINX_PID"
  exit 0
fi

# ------------------------------------------------------------ interpreters
# LUA_PATH / LUA_CPATH that find this tree's vinano, then the stock paths
LP="$TREE/lua/?.lua;$TREE/lua/?/init.lua"
LP54="LUA_PATH=$LP;$(lua5.4 -e 'io.write(package.path)')"
LC54="LUA_CPATH=$TREE/build/lua5.4/?.so;$(lua5.4 -e 'io.write(package.cpath)')"
LPJIT="LUA_PATH=$LP;$(luajit -e 'io.write(package.path)')"
LCJIT="LUA_CPATH=$TREE/build/luajit/?.so;$(luajit -e 'io.write(package.cpath)')"
V54=(env "$LP54" "$LC54" "${PIN[@]}" lua5.4 "$BENCH/vinano_bench.lua")
VJIT=(env "$LPJIT" "$LCJIT" "${PIN[@]}" luajit "$BENCH/vinano_bench.lua")
if [ -n "$TREEB" ]; then
  LPB="$TREEB/lua/?.lua;$TREEB/lua/?/init.lua"
  LP54B="LUA_PATH=$LPB;$(lua5.4 -e 'io.write(package.path)')"
  LC54B="LUA_CPATH=$TREEB/build/lua5.4/?.so;$(lua5.4 -e 'io.write(package.cpath)')"
  V54B=(env "$LP54B" "$LC54B" "${PIN[@]}" lua5.4 "$BENCH/vinano_bench.lua")
  VJITB=(env "LUA_PATH=$LPB;$(luajit -e 'io.write(package.path)')" \
    "LUA_CPATH=$TREEB/build/luajit/?.so;$(luajit -e 'io.write(package.cpath)')" "${PIN[@]}" luajit "$BENCH/vinano_bench.lua")
fi
OTH=("${PIN[@]}" lua5.4 "$BENCH/others_bench.lua")
FL=("${PIN[@]}" "$FLOOR")

# one sanity call of each endpoint through vinano
env "$LP54" "$LC54" lua5.4 - "$BASE" "$CA" <<'EOF' >&2 || die "vinano cannot talk to the bench server"
local vinano = require "vinano"
local c = vinano.new { token = "bench-token", base_url = arg[1], ca_file = arg[2] }
local p = { prompt = "a beautiful sunset over the ocean", model = "gemini-2.5-flash-image-preview",
  aspectRatio = "16:9", googleSearch = false, mode = "txt2img" }
local r = assert(c:generate(p))
local t = assert(c:submit_async(p))
local s = assert(c:poll(t.task_id))
assert(r.images[1] and t.task_id and s.state == "done")
local info = c:last_response()
io.stderr:write(("bench: vinano: generate, submit_async, poll OK (HTTP %d, %d new connection(s) on the last)\n")
  :format(info.status, info.new_connections))
EOF

# ------------------------------------------------------------- contenders
RES=$TMP/results
: > "$RES"
record() { # class case inflight role label -- command...
  local class=$1 case=$2 n=$3 role=$4 label=$5 out
  shift 5
  if out=$("$@" 2>"$TMP/err"); then
    echo "$class|$case|$n|$role|$label|$out" >> "$RES"
  else
    log "FAILED: $label ($case, $n): $(tail -3 "$TMP/err" | tr '\n' ' ')"
    echo "$class|$case|$n|$role|$label|FAILED" >> "$RES"
  fi
}

if [ "$QUICK" = 1 ]; then
  ROUNDS=${BENCH_ROUNDS:-2}; NS=100; NS_IMG=60; NCLI=5; NSSL=3; NA=300; NA1=150; SLOW_ROUNDS=1
else
  NS=2000; NS_IMG=1000; NCLI=20; NSSL=8; NA=3000; NA1=800; SLOW_ROUNDS=3
fi

if [ "$ONLY" != callgrind ]; then
log "sync contenders: $ROUNDS rounds (server and client share vCPU 1)"
server_cpu 1
for r in $(seq 1 "$ROUNDS"); do
  for case in text images; do
    imgs=()
    n=$NS
    if [ "$case" = images ]; then imgs=("${IMAGES[@]}"); n=$NS_IMG; fi
    record sync $case 1 floor "raw libcurl: easy handle (floor.c)" "${FL[@]}" sync "$BASE" "$CA" $TOKEN $n 1 "${imgs[@]}"
    record sync $case 1 ref "raw libcurl over HTTP/1.1 (reference)" env FLOOR_HTTP11=1 "${FL[@]}" sync "$BASE" "$CA" $TOKEN $n 1 "${imgs[@]}"
    if [ "$case" = text ]; then
      record sync $case 1 ref "raw libcurl, body built by hand (reference)" env FLOOR_HAND_BODY=1 "${FL[@]}" sync "$BASE" "$CA" $TOKEN $n 1
    fi
    record sync $case 1 vinano "vinano client:generate, Lua 5.4" "${V54[@]}" sync "$BASE" "$CA" $n 1 30 "${imgs[@]}"
    record sync $case 1 vinano "vinano client:generate, LuaJIT" "${VJIT[@]}" sync "$BASE" "$CA" $n 1 30 "${imgs[@]}"
    record sync $case 1 ref "vinano core transfer (no API layer), 5.4" "${V54[@]}" coresync "$BASE" "$CA" $n 1 30 "${imgs[@]}"
    record sync $case 1 ref "vinano core transfer (no API layer), LuaJIT" "${VJIT[@]}" coresync "$BASE" "$CA" $n 1 30 "${imgs[@]}"
    if [ -n "$TREEB" ]; then
      record sync $case 1 vinano "vinano client:generate, Lua 5.4 [B]" "${V54B[@]}" sync "$BASE" "$CA" $n 1 30 "${imgs[@]}"
      record sync $case 1 vinano "vinano client:generate, LuaJIT [B]" "${VJITB[@]}" sync "$BASE" "$CA" $n 1 30 "${imgs[@]}"
    fi
    record sync $case 1 other "LuaSec, kept-alive HTTP/1.1 by hand" "${OTH[@]}" luasec-ka "$BASE" "$CA" $n 1 30 "${imgs[@]}"
    if [ "$r" -le "$SLOW_ROUNDS" ]; then
      record sync $case 1 other "curl command per request (io.popen)" "${OTH[@]}" curl "$BASE" "$CA" $NCLI 1 2 "${imgs[@]}"
      record sync $case 1 other "LuaSec ssl.https.request (new conn.)" "${OTH[@]}" luasec "$BASE" "$CA" $NSSL 1 1 "${imgs[@]}"
    fi
  done
done

log "async contenders: $ROUNDS rounds (server on vCPU 0, client on vCPU 1)"
server_cpu 0
for r in $(seq 1 "$ROUNDS"); do
  for n in 1 8 64; do
    total=$NA
    [ $n = 1 ] && total=$NA1
    record async text $n floor "raw libcurl: curl_multi (floor.c)" "${FL[@]}" multi "$BASE" "$CA" $TOKEN $n $total 1
    record async text $n vinano "vinano core:start/step, Lua 5.4" "${V54[@]}" async "$BASE" "$CA" $n $total 1 $((4 * n))
    record async text $n vinano "vinano core:start/step, LuaJIT" "${VJIT[@]}" async "$BASE" "$CA" $n $total 1 $((4 * n))
    if [ $n -gt 1 ]; then
      record async text $n vinano "vinano generate_many, Lua 5.4" "${V54[@]}" many "$BASE" "$CA" $n $total 1 $((4 * n))
      record async text $n vinano "vinano generate_many, LuaJIT" "${VJIT[@]}" many "$BASE" "$CA" $n $total 1 $((4 * n))
    fi
    if [ -n "$TREEB" ]; then
      record async text $n vinano "vinano core:start/step, Lua 5.4 [B]" "${V54B[@]}" async "$BASE" "$CA" $n $total 1 $((4 * n))
      record async text $n vinano "vinano core:start/step, LuaJIT [B]" "${VJITB[@]}" async "$BASE" "$CA" $n $total 1 $((4 * n))
      if [ $n -gt 1 ]; then
        record async text $n vinano "vinano generate_many, Lua 5.4 [B]" "${V54B[@]}" many "$BASE" "$CA" $n $total 1 $((4 * n))
        record async text $n vinano "vinano generate_many, LuaJIT [B]" "${VJITB[@]}" many "$BASE" "$CA" $n $total 1 $((4 * n))
      fi
    fi
  done
done
fi

# ----------------------------------------------------- side measurements
SIDE=$TMP/side
: > "$SIDE"
side() { echo "$*" >> "$SIDE"; }

if [ "$ONLY" != callgrind ]; then
log "memory: 100 MB upload and download"
for lua in lua5.4 luajit; do
  runner=("${V54[@]}")
  [ $lua = luajit ] && runner=("${VJIT[@]}")
  out=$("${runner[@]}" upload "$BASE" "$CA" "$TMP/upload.png" 2>"$TMP/err") || out="FAILED $(tail -2 "$TMP/err" | tr '\n' ' ')"
  side "mem|$lua|upload|$out"
  out=$("${runner[@]}" download "$BASE" "$CA" "$BASE/files/big.bin" "$TMP/dl/big.bin" 2>"$TMP/err") ||
    out="FAILED $(tail -2 "$TMP/err" | tr '\n' ' ')"
  side "mem|$lua|download|$out"
  if [ -f "$TMP/dl/big.bin" ] && [ "$(stat -c %s "$TMP/dl/big.bin")" != $BIG ]; then side "mem|$lua|download|FAILED size"; fi
  rm -f "$TMP/dl/big.bin"
done
rm -rf "$TMP/client_body"/* 2>/dev/null || true

log "require cost (fresh processes)"
side "libs|$(ldd "$TREE/build/lua5.4/vinano/core.so" | grep -c '=>')"
REQ_N=11
[ "$QUICK" = 1 ] && REQ_N=3
for lua in lua5.4 luajit; do
  runner=("${V54[@]}")
  [ $lua = luajit ] && runner=("${VJIT[@]}")
  # vinano: require alone (loads no C); new: require + the first vinano.new
  # (dlopen of core.so with libcurl and its libraries, curl_global_init, the
  # client); async: require "vinano.async"; split: where new's time goes
  for what in vinano new async split; do
    vals=""
    for _ in $(seq 1 $REQ_N); do
      v=$("${runner[@]}" require "$what" 2>"$TMP/err") || v=FAILED
      vals="$vals $v"
    done
    side "require|$lua|$what|$vals"
  done
done

log "luv host: wake-ups while one request waits 10 s on the server, then idle"
# LuaJIT with luv (the driver Neovim uses, on a plain luv loop), then Neovim
# itself when installed (its vim.loop, a real editor process)
out=$(env "$LPJIT" "$LCJIT" BENCH_BASE="$BASE/hold10/luajit" BENCH_CA="$CA" BENCH_REPORT="$TMP/wait.luajit" \
  "${PIN[@]}" luajit "$BENCH/luv_wait.lua" 2>"$TMP/err" && cat "$TMP/wait.luajit") || out="FAILED $(tail -2 "$TMP/err" | tr '\n' ' ')"
side "wait|LuaJIT + luv|$out"
if command -v nvim >/dev/null; then
  rm -f "$TMP/wait.nvim"
  env BENCH_LP="$LP" BENCH_LC="$TREE/build/luajit/?.so;$(luajit -e 'io.write(package.cpath)')" \
    BENCH_BASE="$BASE/hold10/nvim" BENCH_CA="$CA" BENCH_REPORT="$TMP/wait.nvim" \
    "${PIN[@]}" timeout 60 nvim --headless -u NONE -i NONE -n -c "luafile $BENCH/luv_wait.lua" </dev/null >/dev/null 2>"$TMP/err" || true
  out=$(cat "$TMP/wait.nvim" 2>/dev/null) || out="FAILED $(tail -2 "$TMP/err" | tr '\n' ' ')"
  side "wait|Neovim $(nvim --version | head -1 | cut -d' ' -f2) --headless|$out"
else
  side "wait|Neovim|not installed (apt-get install neovim)"
fi

log "step(0) with 256 transfers held in flight"
out=$("${V54[@]}" step "$BASE/slow" "$CA" 256 2000 2>"$TMP/err") || out="FAILED $(tail -2 "$TMP/err" | tr '\n' ' ')"
side "step|lua5.4|core:step(0)|$out"
out=$("${VJIT[@]}" step "$BASE/slow" "$CA" 256 2000 2>"$TMP/err") || out="FAILED $(tail -2 "$TMP/err" | tr '\n' ' ')"
side "step|luajit|core:step(0)|$out"
out=$("${V54[@]}" update "$BASE/slow" "$CA" 256 2000 2>"$TMP/err") || out="FAILED $(tail -2 "$TMP/err" | tr '\n' ' ')"
side "step|lua5.4|async.update(0), 256 tasks|$out"
out=$("${FL[@]}" idle "$BASE/slow" "$CA" $TOKEN 256 2000 2>"$TMP/err") || out="FAILED $(tail -2 "$TMP/err" | tr '\n' ' ')"
side "step|C|curl_multi_perform (floor.c)|$out"
# a game's frame: async.update(0) with 10 requests in flight and nothing arriving
out=$("${V54[@]}" update "$BASE/slow" "$CA" 10 2000 2>"$TMP/err") || out="FAILED $(tail -2 "$TMP/err" | tr '\n' ' ')"
side "frame|lua5.4|async.update(0), 10 tasks|$out"
out=$("${VJIT[@]}" update "$BASE/slow" "$CA" 10 2000 2>"$TMP/err") || out="FAILED $(tail -2 "$TMP/err" | tr '\n' ' ')"
side "frame|luajit|async.update(0), 10 tasks|$out"

fi
log "callgrind: instructions per request (vinano on Lua 5.4, and the floor)"
server_cpu 0
CG1=20
CG2=160
[ "$QUICK" = 1 ] && CG2=60
CGOUT=$(dirname "$OUT")/callgrind
mkdir -p "$CGOUT"
cg() { # name requests -- command...
  local name=$1 n=$2
  shift 2
  env "$LP54" "$LC54" valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.$name.$n" "$@" >/dev/null 2>"$TMP/err" ||
    { log "callgrind $name failed: $(tail -2 "$TMP/err")"; return 0; }
  lua5.4 "$BENCH/cgsum.lua" "$TMP/cg.$name.$n" vn_form_build vn_transfer_start t_result c_step c_start \
    > "$TMP/cgsum.$name.$n"
}
VCG=(lua5.4 "$BENCH/vinano_bench.lua")
cg vinano $CG1 "${VCG[@]}" calls "$BASE" "$CA" $CG1
cg vinano $CG2 "${VCG[@]}" calls "$BASE" "$CA" $CG2
cg vinano-nogc $CG1 "${VCG[@]}" calls "$BASE" "$CA" $CG1 nogc
cg vinano-nogc $CG2 "${VCG[@]}" calls "$BASE" "$CA" $CG2 nogc
cg core $CG1 "${VCG[@]}" corecalls "$BASE" "$CA" $CG1
cg core $CG2 "${VCG[@]}" corecalls "$BASE" "$CA" $CG2
# LuaJIT (the interpreter and its JIT: what LÖVE and Neovim run)
LPJ_CG="LUA_PATH=$LP;$(luajit -e 'io.write(package.path)')"
LCJ_CG="LUA_CPATH=$TREE/build/luajit/?.so;$(luajit -e 'io.write(package.cpath)')"
cgjit() { # name requests -- command...
  local name=$1 n=$2
  shift 2
  env "$LPJ_CG" "$LCJ_CG" valgrind --tool=callgrind --callgrind-out-file="$TMP/cg.$name.$n" "$@" >/dev/null 2>"$TMP/err" ||
    { log "callgrind $name failed: $(tail -2 "$TMP/err")"; return 0; }
  lua5.4 "$BENCH/cgsum.lua" "$TMP/cg.$name.$n" > "$TMP/cgsum.$name.$n"
}
# three times the requests: the JIT's trace compiling, which falls into the
# difference differently per run, weighs a third as much per request
CGJ=$((CG1 + 3 * (CG2 - CG1)))
cgjit vinanojit $CG1 luajit "$BENCH/vinano_bench.lua" calls "$BASE" "$CA" $CG1
cgjit vinanojit $CGJ luajit "$BENCH/vinano_bench.lua" calls "$BASE" "$CA" $CGJ
# 64 in flight: one generate_many of M1 and of M2 requests (server on the other vCPU)
M1=128
M2=640
[ "$QUICK" = 1 ] && M2=384
cg many $M1 "${VCG[@]}" manycalls "$BASE" "$CA" 64 $M1
cg many $M2 "${VCG[@]}" manycalls "$BASE" "$CA" 64 $M2
cg asyncc $M1 "${VCG[@]}" async "$BASE" "$CA" 64 $M1 1 0
cg asyncc $M2 "${VCG[@]}" async "$BASE" "$CA" 64 $M2 1 0
# a batch of B1 and of B2 jobs, 8 in flight: each a submit, a poll and a download, with the journal
B1=16
B2=96
rm -rf "$TMP/batch.$B1" "$TMP/batch.$B2"
mkdir -p "$TMP/batch.$B1" "$TMP/batch.$B2"
cg batch $B1 "${VCG[@]}" batchcalls "$BASE" "$CA" 8 $B1 "$TMP/batch.$B1"
cg batch $B2 "${VCG[@]}" batchcalls "$BASE" "$CA" 8 $B2 "$TMP/batch.$B2"
# a frame with 10 requests in flight, nothing arriving: (F2 - F1) / (F2 - F1) update(0) calls
F1=200
F2=2200
cg frame $F1 "${VCG[@]}" frame "$BASE/slow" "$CA" 10 $F1
cg frame $F2 "${VCG[@]}" frame "$BASE/slow" "$CA" 10 $F2
# the Lua layer's pieces, without I/O: (run of P2 - run of P1) / (P2 - P1)
P1=200
P2=2200
for part in validate parts classify call generate json cjson; do
  cg "part-$part" $P1 "${VCG[@]}" part $part $P1 "$BASE" "$CA"
  cg "part-$part" $P2 "${VCG[@]}" part $part $P2 "$BASE" "$CA"
done
if [ -n "$TREEB" ]; then
  LP54_A=$LP54
  LC54_A=$LC54
  LP54=$LP54B
  LC54=$LC54B
  cg vinanoB $CG1 "${VCG[@]}" calls "$BASE" "$CA" $CG1
  cg vinanoB $CG2 "${VCG[@]}" calls "$BASE" "$CA" $CG2
  LP54=$LP54_A
  LC54=$LC54_A
fi
# the floor's sync mode sends min(n, 50) warm-up requests, then n
cg floor $CG1 "$FLOOR" sync "$BASE" "$CA" $TOKEN $((CG1 / 2)) 1
FL2=$((CG2 - 50))
[ $FL2 -lt 50 ] && FL2=$((CG2 / 2))
cg floor $CG2 "$FLOOR" sync "$BASE" "$CA" $TOKEN $FL2 1
FLOOR_HAND_BODY=1 cg floorhand $CG1 "$FLOOR" sync "$BASE" "$CA" $TOKEN $((CG1 / 2)) 1
FLOOR_HAND_BODY=1 cg floorhand $CG2 "$FLOOR" sync "$BASE" "$CA" $TOKEN $FL2 1
# require "vinano" in instructions (the wall-clock median moves with the machine's load)
cg require 1 lua5.4 -e 'require "vinano"'
cg require 0 lua5.4 -e ''
side "cg|$CG1|$CG2|$TMP|$P1|$P2|$M1|$M2|$F1|$F2|$B1|$B2|$CGJ"
# the profiles themselves, and callgrind_annotate's inclusive view of the
# 160-request vinano run, kept for reading (out/callgrind/)
cp "$TMP"/cg.vinano.* "$TMP"/cg.floor.* "$TMP"/cg.core.* "$CGOUT"/ 2>/dev/null || true
for name in vinano core floor; do
  [ -f "$TMP/cg.$name.$CG2" ] && lua5.4 "$BENCH/cgdiff.lua" "$TMP/cg.$name.$CG1" $CG1 "$TMP/cg.$name.$CG2" $CG2 40 \
    > "$CGOUT/$name.per-request.txt" 2>/dev/null || true
done
if command -v callgrind_annotate >/dev/null && [ -f "$TMP/cg.vinano.$CG2" ]; then
  callgrind_annotate --inclusive=yes --threshold=99 "$TMP/cg.vinano.$CG2" 2>/dev/null | head -80 > "$CGOUT/vinano.inclusive.txt" || true
fi

# ------------------------------------------------------------------ report
{
  echo "date: $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "machine: $(nproc) vCPU, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ *//'), $(awk '/MemTotal/ { printf "%.0f GiB", $2 / 1048576 }' /proc/meminfo)"
  echo "kernel: $(uname -sr)"
  echo "libcurl: $(curl-config --version 2>/dev/null || true) ($(curl -V | head -1 | cut -d' ' -f3-))"
  echo "lua: $(lua5.4 -v 2>&1 | head -1); $(luajit -v 2>&1 | head -1)"
  echo "server: $("$NGINX" -v 2>&1 | cut -d: -f2- | sed 's/^ *//'), 1 worker, TLS 1.3 (ECDSA P-256), HTTP/2 unless noted"
  echo "pinning: $([ ${#PIN[@]} -gt 0 ] && echo 'sync: server+client on vCPU 1; async: server vCPU 0, client vCPU 1' || echo none)"
  echo "background: ${BUSY_BEFORE}% of the vCPUs busy before the run; load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
  echo "vinano tree: $TREE$([ -z "$TREEB" ] || echo "; [B] rows: $TREEB")"
} > "$TMP/machine"
mkdir -p "$(dirname "$OUT")"
lua5.4 "$BENCH/report.lua" "$TMP/machine" "$RES" "$SIDE" | tee "$OUT"
log "saved to $OUT ($(($(date +%s) - T_START)) s)"
