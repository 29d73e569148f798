#!/bin/sh
# make check-windows: builds the Windows folders (scripts/windows/build.sh),
# then runs the Windows specs (spec/windows/) under Wine with each folder's
# own interpreter, from a copy of the folder outside the checkout, against
# the mock running here on Linux (plus a TLS front for it, and a relay for its
# control endpoints).  Prints one "LUA: N passed, N failed" line per Lua, the
# time taken, and ends with the totals "N passed, N failed".
#
#   WIN_CACHE (.cache/windows)  WIN_BUILD (build/windows)  WIN_LUAS ("lua5.4 luajit")
#   WINE (/usr/lib/wine/wine64)  WIN_SPECS (the spec files, default every spec/windows/*_wine.lua)
cd "$(dirname "$0")/../.." || exit 1
ROOT=$(pwd)
OUT=${WIN_BUILD:-$ROOT/build/windows}
LUAS=${WIN_LUAS:-lua5.4 luajit}
WINE=${WINE:-/usr/lib/wine/wine64}
HOST=x86_64-w64-mingw32
started=$(date +%s)
passed=0 failed=0 status=0

pass() { passed=$((passed + 1)); echo "ok     $*"; }
fail() { failed=$((failed + 1)); status=1; echo "FAILED $*"; }
totals() {
  echo "check-windows: $(($(date +%s) - started)) s in all (build $built_in s)"
  echo "$passed passed, $failed failed"
  exit $status
}

# what runs the specs, checked before minutes of building
built_in=0
if [ ! -x "$WINE" ]; then
  fail "Wine not found at $WINE: install it with: sudo apt-get install -y wine64"
  totals
fi
for tool in lua5.4:lua5.4 socat:socat openssl:openssl; do
  command -v "${tool%%:*}" >/dev/null 2>&1 ||
    { fail "${tool%%:*} not found: install it with: sudo apt-get install -y ${tool#*:}"; totals; }
done
lua5.4 -e 'require "socket"' 2>/dev/null ||
  { fail "LuaSocket for Lua 5.4 not found (the mock needs it): install it with: sudo apt-get install -y lua-socket"; totals; }

if WIN_BUILD=$OUT WIN_LUAS=$LUAS sh scripts/windows/build.sh; then
  pass "build: the folders, vinano's core compiled with the Linux build's warnings as errors"
else
  built_in=$(($(date +%s) - started))
  fail "build: see above"
  totals
fi
built_in=$(($(date +%s) - started))


# Every DLL a folder's programs and modules import is Windows' own or in the
# folder: nothing that only this machine or Wine happens to provide.
SYSTEM_DLLS=" kernel32.dll msvcrt.dll ws2_32.dll advapi32.dll bcrypt.dll crypt32.dll user32.dll "
for lua in $LUAS; do
  dir="$OUT/$lua" missing=""
  for f in $(cd "$dir" && find . -name '*.dll' -o -name '*.exe'); do
    for dll in $("$HOST-objdump" -p "$dir/$f" | sed -n 's/^[[:space:]]*DLL Name: //p' | tr 'A-Z' 'a-z'); do
      case $SYSTEM_DLLS in *" $dll "*) continue ;; esac
      [ -n "$(cd "$dir" && find . -maxdepth 1 -iname "$dll")" ] || missing="$missing $f:$dll"
    done
  done
  if [ -z "$missing" ]; then pass "$lua: every DLL imported is Windows' own or in the folder"
  else fail "$lua: imports neither Windows' own nor in the folder:$missing"; fi
done

tmp=$(mktemp -d /tmp/vinano-windows.XXXXXX)
winpath() { echo "Z:$1" | tr '/' '\\'; }
PIDS=""
cleanup() {
  for p in $PIDS; do kill "$p" 2>/dev/null; done
  WINEPREFIX="$OUT/wine" "$(dirname "$WINE")/wineserver" -k 2>/dev/null
  rm -rf "$tmp"
}
trap 'cleanup; exit 143' TERM INT
# free_port / wait_port PORT: a free TCP port from the kernel; until PORT accepts (10 s)
free_port() { lua5.4 -e 'local s = assert(require("socket").bind("127.0.0.1", 0)); print((select(2, s:getsockname()))); s:close()'; }
wait_port() {
  lua5.4 -e "port = $1" -e 'local socket = require "socket"; local t = socket.gettime() + 10
    repeat local c = socket.connect("127.0.0.1", port); if c then c:close(); os.exit(0) end; socket.sleep(0.05)
    until socket.gettime() > t; os.exit(1)'
}
# first_line FILE PATTERN: waits (10 s) for a line of FILE matching PATTERN
first_line() {
  i=0
  while [ $i -lt 200 ]; do
    line=$(grep -m 1 -E "$2" "$1" 2>/dev/null) && { echo "$line"; return 0; }
    sleep 0.05; i=$((i + 1))
  done
  return 1
}

services() {
  TOKEN="win-SECRET-token-5e1d07"
  lua5.4 mock/bin/vinano-mock --port 0 --token "$TOKEN" --lifetime 900 --quiet >"$tmp/mock.out" 2>"$tmp/mock.err" &
  PIDS="$PIDS $!"
  MOCK_URL=$(first_line "$tmp/mock.out" '^vinano-mock listening on ' | sed 's/^vinano-mock listening on \([^ ]*\) .*/\1/') ||
    { echo "the mock did not start: $(cat "$tmp/mock.err")"; return 1; }
  lua5.4 spec/windows/relay.lua "$MOCK_URL" 900 >"$tmp/relay.out" 2>"$tmp/relay.err" &
  PIDS="$PIDS $!"
  RELAY_URL=$(first_line "$tmp/relay.out" '^relay listening on ' | sed 's/^relay listening on //') ||
    { echo "the relay did not start: $(cat "$tmp/relay.err")"; return 1; }
  # a test CA and a server certificate it signs for 127.0.0.1; a self-signed one
  c="$tmp/certs" && mkdir -p "$c" && {
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$c/ca.key" -out "$c/ca.pem" -days 2 -subj "/CN=vinano test CA" \
      -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" &&
    openssl req -newkey rsa:2048 -nodes -keyout "$c/srv.key" -out "$c/srv.csr" -subj "/CN=localhost" &&
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' >"$c/ext" &&
    openssl x509 -req -in "$c/srv.csr" -CA "$c/ca.pem" -CAkey "$c/ca.key" -CAcreateserial -days 2 \
      -extfile "$c/ext" -out "$c/srv.pem" &&
    openssl req -x509 -newkey rsa:2048 -nodes -keyout "$c/bad.key" -out "$c/bad.pem" -days 2 -subj "/CN=localhost" \
      -addext "subjectAltName=DNS:localhost,IP:127.0.0.1"
  } >"$tmp/openssl.log" 2>&1 || { echo "openssl could not make the test certificates: $(tail -n 3 "$tmp/openssl.log")"; return 1; }
  mock_port=${MOCK_URL##*:}
  for which in srv bad; do
    port=$(free_port)
    timeout 900 socat "OPENSSL-LISTEN:$port,bind=127.0.0.1,reuseaddr,fork,cert=$c/$which.pem,key=$c/$which.key,verify=0" \
      "TCP:127.0.0.1:$mock_port" 2>>"$tmp/socat.err" &
    PIDS="$PIDS $!"
    wait_port "$port" || { echo "socat did not listen on $port: $(cat "$tmp/socat.err")"; return 1; }
    # by name: libcurl 7.88's Schannel checks a certificate against ca_file by
    # its DNS names only (an IP address URL fails the name check)
    if [ $which = srv ]; then TLS_URL="https://localhost:$port"; else TLS_BAD_URL="https://localhost:$port"; fi
  done
}

# Wine's prefix lives in the build folder, made once (wineboot takes ~20 s).
prefix() {
  export WINEPREFIX="$OUT/wine" WINEDEBUG=-all WINEDLLOVERRIDES="mscoree,mshtml="
  [ -f "$WINEPREFIX/.vinano-ready" ] && return 0
  rm -rf "$WINEPREFIX"
  echo "check-windows: making Wine's prefix in $WINEPREFIX"
  "$WINE" wineboot -i >"$tmp/wineboot.log" 2>&1 && "$(dirname "$WINE")/wineserver" -w &&
    : >"$WINEPREFIX/.vinano-ready" || { echo "wineboot failed: $(tail -n 3 "$tmp/wineboot.log")"; return 1; }
}

if ! services || ! prefix; then
  fail "the mock, its relay and TLS front, and Wine's prefix"
  cleanup; totals
fi

# the Windows specs are spec/windows/*_wine.lua: not *_spec.lua, which busted
# (and scripts/specs.sh) would run on Linux
specs=${WIN_SPECS:-$(cd spec/windows && find . -name '*_wine.lua' | sed 's|^\./||' | LC_ALL=C sort | tr '\n' ' ')}
summary=""
for lua in $LUAS; do
  exe=lua.exe; [ "$lua" = luajit ] && exe=luajit.exe
  # the folder as a user copies it, run from a working folder of its own
  cp -R "$OUT/$lua" "$tmp/$lua"
  mkdir -p "$tmp/work-$lua"
  echo "== $lua under Wine: $tmp/$lua/$exe"
  # shellcheck disable=SC2086 # the spec files are words
  (cd "$tmp/work-$lua" && env -u LUA_PATH -u LUA_CPATH -u LUA_PATH_5_4 -u LUA_CPATH_5_4 -u LUA_INIT -u LUA_INIT_5_4 \
    -u http_proxy -u https_proxy -u HTTPS_PROXY -u all_proxy -u ALL_PROXY -u no_proxy -u NO_PROXY \
    -u VINANO_API_TOKEN -u VINANO_BASE_URL \
    VINANO_MOCK_URL="$MOCK_URL" VINANO_RELAY_URL="$RELAY_URL" VINANO_MOCK_TOKEN="$TOKEN" \
    VINANO_TLS_URL="$TLS_URL" VINANO_TLS_BAD_URL="$TLS_BAD_URL" VINANO_TLS_CA="$(winpath "$tmp/certs/ca.pem")" \
    VINANO_WIN_TMP="$(winpath "$tmp/work-$lua")" VINANO_WIN_FOLDER="$(winpath "$tmp/$lua")" \
    VINANO_CHECKOUT="$(winpath "$ROOT")" VINANO_MOCK_DIR="$(winpath "$ROOT/mock/lua/vinano/mock")" \
    timeout -k 10 300 "$WINE" "$tmp/$lua/$exe" "$(winpath "$ROOT/spec/windows/runner.lua")" \
      "$(winpath "$ROOT/spec/windows")" $specs </dev/null) >"$tmp/$lua.out" 2>&1
  st=$?
  grep -v -E '^[0-9]+ passed, [0-9]+ failed' "$tmp/$lua.out" | tr -d '\r'
  line=$(tr -d '\r' <"$tmp/$lua.out" | grep -E '^[0-9]+ passed, [0-9]+ failed$' | tail -n 1)
  if [ -z "$line" ]; then
    [ $st -eq 124 ] && echo "$lua: TIMED OUT after 300 s"
    line="0 passed, 1 failed"
    echo "$lua ended (exit $st) without its count: counted as one failure"
  fi
  p=${line%% passed*}; f=${line#*passed, }; f=${f%% failed*}
  [ $st -eq 0 ] || [ "$f" -gt 0 ] || { f=1; echo "$lua exited $st after its specs: counted as a failure"; }
  passed=$((passed + p)); failed=$((failed + f))
  [ "$f" -eq 0 ] || status=1
  summary="$summary$lua: $p passed, $f failed
"
done
cleanup
printf '%s' "$summary"
totals
