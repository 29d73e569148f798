#!/bin/sh
# Builds the ready-to-copy Windows x86_64 folders build/windows/lua5.4/ and
# build/windows/luajit/: the interpreter, libcurl-4.dll (Schannel), cjson.dll,
# vinano/core.dll and the Lua sources under lua/.
#
# Everything but vinano's own sources comes from Debian's source packages
# (apt-get source, through a private apt state under the cache that lists
# deb-src lines for the mirrors and suites this machine already uses), so
# Debian's security patches are in; it is built with mingw-w64 and kept in
# one cache folder (WIN_CACHE, default .cache/windows), keyed by each
# package's Debian version and this script: a second run only rebuilds
# vinano's core.  `make distclean` (or `make clean-windows-cache`) removes it.
#
#   WIN_CACHE=... WIN_BUILD=build/windows WIN_JOBS=2 WARN="-Wall ..." sh scripts/windows/build.sh
set -eu
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
CACHE=${WIN_CACHE:-$ROOT/.cache/windows}
OUT=${WIN_BUILD:-$ROOT/build/windows}
JOBS=${WIN_JOBS:-2}
HOST=x86_64-w64-mingw32
WIN_CC=${WIN_CC:-$HOST-gcc}
# the Linux build's warnings (the Makefile passes its own), made errors
WARN=${WARN:--Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter}
LUAS=${WIN_LUAS:-lua5.4 luajit}

say() { echo "check-windows: $*"; }
# built WHAT SINCE: says how long a piece took
built() { say "$1: $(($(date +%s) - $2)) s"; }
die() { echo "check-windows: $*" >&2; exit 1; }

# needs COMMAND PACKAGE: a missing tool says the exact line that installs it
needs() {
  command -v "$1" >/dev/null 2>&1 ||
    die "$1 not found: install it with: sudo apt-get install -y $2"
}
needs "$WIN_CC" gcc-mingw-w64-x86-64-win32
needs "$HOST-objdump" binutils-mingw-w64-x86-64
needs dpkg-source dpkg-dev
needs apt-get apt
needs patch patch
needs make make
needs gcc gcc
needs xz xz-utils

mkdir -p "$CACHE/src" "$OUT"
CACHE=$(cd "$CACHE" && pwd)

# ---- Debian's sources: a private apt state, so the system's lists are left
# alone and no root is needed; its deb-src lines are the machine's own deb
# lines (deb822 .sources files and one-line sources.list alike).
APT="$CACHE/apt"
apt_opts() {
  echo "-o Dir::Etc::SourceList=$APT/sources.list -o Dir::Etc::SourceParts=$APT/sources.list.d" \
    "-o Dir::State::Lists=$APT/lists -o Dir::Cache=$APT/cache -o Debug::NoLocking=1" \
    "-o APT::Sandbox::User=$(id -un) -o Acquire::Retries=3"
}
apt_lists() {
  mkdir -p "$APT/sources.list.d" "$APT/lists/partial" "$APT/cache/archives/partial"
  : >"$APT/sources.list"
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] || continue
    sed -e 's/^Types:.*$/Types: deb-src/' "$f" >"$APT/sources.list.d/$(basename "$f")"
  done
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] || continue
    sed -n -e 's/^[[:space:]]*deb[[:space:]]/deb-src /p' "$f" >>"$APT/sources.list"
  done
  grep -qs deb-src "$APT/sources.list" "$APT"/sources.list.d/* ||
    die "no Debian apt source found in /etc/apt/sources.list or /etc/apt/sources.list.d/ to add deb-src lines for"
  # shellcheck disable=SC2046 # the options are words
  apt-get $(apt_opts) -qq update >"$APT/update.log" 2>&1 &&
    # apt-get update succeeds with warnings when an index could not be fetched
    ! grep -q '^W: Failed to fetch' "$APT/update.log" && find "$APT/lists" -name '*_Sources*' | grep -q .
}

# source PACKAGE: downloads PACKAGE's Debian source into $CACHE/src unless
# its current version is there; sets DSC (the .dsc path) and VERSION.
LISTS_READY=""
source_of() {
  pkg=$1
  if [ -z "$LISTS_READY" ]; then
    if apt_lists; then LISTS_READY=yes; else LISTS_READY=failed; fi
  fi
  DSC=""
  if [ "$LISTS_READY" = yes ]; then
    # shellcheck disable=SC2046
    DSC=$(apt-get $(apt_opts) source --print-uris "$pkg" 2>"$CACHE/src/$pkg.err" |
      sed -n "s/^'[^']*' \([^ ]*\.dsc\) .*/\1/p" | head -n 1)
    [ -n "$DSC" ] || die "the Debian source package '$pkg' is not in the source lists: $(tail -n 1 "$CACHE/src/$pkg.err")"
    if [ ! -f "$CACHE/src/$DSC.ok" ]; then
      say "downloading Debian's source of $pkg ($DSC)"
      # shellcheck disable=SC2046
      (cd "$CACHE/src" && apt-get $(apt_opts) -qq source --download-only "$pkg") >"$CACHE/src/$pkg.err" 2>&1 ||
        die "could not download Debian's source package '$pkg': $(grep -E '^(E|W):' "$CACHE/src/$pkg.err" | tail -n 2 | tr '\n' ' ')"
      : >"$CACHE/src/$DSC.ok"
    fi
    echo "$DSC" >"$CACHE/src/$pkg.current"
  elif [ -f "$CACHE/src/$pkg.current" ]; then
    DSC=$(cat "$CACHE/src/$pkg.current")
    say "could not update Debian's source lists ($(grep -E '^(E|W):' "$APT/update.log" | head -n 1)): using the cached $DSC"
  else
    die "could not download Debian's source package '$pkg': its source lists did not update: $(grep -E '^(E|W):' "$APT/update.log" | head -n 2 | tr '\n' ' ')"
  fi
  VERSION=$(echo "$DSC" | sed -e "s/^${pkg}_//" -e 's/\.dsc$//')
  DSC="$CACHE/src/$DSC"
}

# unpack DIR: a fresh copy of $DSC's source in DIR, Debian's patches applied
unpack() {
  rm -rf "$1"
  dpkg-source -q -x "$DSC" "$1" >"$1.log" 2>&1 || die "dpkg-source could not unpack $DSC (see $1.log)"
}

# A built piece lives in $CACHE/NAME-VERSION-KEY and is complete when it has
# .done; KEY hashes the piece's words and this script, so that any change to
# a recipe here builds it again rather than reuse what an older one made.
RECIPE=$(cksum <"$0" | cut -d' ' -f1)
# prune GLOB DIR: what older versions or recipes built of DIR's piece goes
prune() {
  for d in "$CACHE"/$1; do
    [ "$d" = "$2" ] || rm -rf "$d"
  done
}
key() { printf '%s %s %s' "$RECIPE" "$WIN_CC" "$*" | cksum | cut -d' ' -f1; }

# ---- libcurl: Debian's curl, less the two patches that rename the library
# for GnuTLS and NSS (Debian's rules pop them the same way), with Schannel,
# the Win32 threaded resolver (no pthreads, so no winpthread DLL), HTTP(S)
# only and no optional library.  The patches that touch configure.ac (GSSAPI
# and LDAP link flags) concern features this build leaves out, so the
# release's own configure serves and no autoreconf is needed.
CURL_FLAGS="--host=$HOST --with-schannel --disable-pthreads --enable-shared --disable-static
 --disable-manual --disable-dependency-tracking --disable-ftp --disable-file --disable-ldap --disable-ldaps
 --disable-rtsp --disable-dict --disable-telnet --disable-tftp --disable-pop3 --disable-imap --disable-smb
 --disable-smtp --disable-gopher --disable-mqtt --without-zlib --without-brotli --without-zstd
 --without-libpsl --without-libidn2 --without-nghttp2 --without-libssh2 --without-librtmp --without-ca-bundle --without-ca-path"
build_curl() {
  source_of curl
  CURL="$CACHE/curl-$VERSION-$(key "$CURL_FLAGS")"
  prune "curl-*" "$CURL"
  [ -f "$CURL/.done" ] && return 0
  t0=$(date +%s)
  say "building libcurl $VERSION for Windows (Schannel): a few minutes"
  w="$CACHE/work/curl"
  mkdir -p "$CACHE/work"
  unpack "$w"
  for p in 99_nss.patch 90_gnutls.patch; do
    grep -qx "$p" "$w/debian/patches/series" || die "curl $VERSION: $p is not in Debian's patch series any more"
    patch -s -R -p1 -d "$w" <"$w/debian/patches/$p" >>"$w.log" 2>&1 || die "curl $VERSION: could not undo $p (see $w.log)"
  done
  rm -rf "$CURL"
  # shellcheck disable=SC2086 # the flags are words
  (cd "$w" && ./configure -q $CURL_FLAGS --prefix="$CURL" CC="$WIN_CC") >>"$w.log" 2>&1 ||
    die "curl $VERSION: configure failed (see $w.log and $w/config.log)"
  # what this build is for, as configure found it
  for d in USE_SCHANNEL USE_THREADS_WIN32; do
    grep -q "^#define $d 1" "$w/lib/curl_config.h" || die "curl $VERSION: configure did not choose $d (see $w/config.log)"
  done
  (make -C "$w/lib" -j"$JOBS" && make -C "$w/lib" install && make -C "$w/include" install) >>"$w.log" 2>&1 ||
    die "curl $VERSION: the build failed (see $w.log)"
  [ -f "$CURL/bin/libcurl-4.dll" ] || die "curl $VERSION: no libcurl-4.dll was built"
  rm -rf "$w" "$w.log"
  : >"$CURL/.done"
  built "libcurl built" "$t0"
}

# ---- Lua 5.4: the release tarball inside Debian's source (Debian's other
# patches are for its own shared-library build and paths) plus Debian's CVE
# patches, built by the release's own `make mingw`.
build_lua54() {
  source_of lua5.4
  LUA54="$CACHE/lua5.4-$VERSION-$(key mingw)"
  prune "lua5.4-*" "$LUA54"
  [ -f "$LUA54/.done" ] && return 0
  t0=$(date +%s)
  say "building Lua 5.4 $VERSION for Windows"
  w="$CACHE/work/lua5.4"
  rm -rf "$w" && mkdir -p "$w"
  orig=$(ls "$CACHE/src/lua5.4_${VERSION%%-*}.orig.tar."* | head -n 1)
  deb=$(ls "$CACHE/src/lua5.4_$VERSION.debian.tar."* | head -n 1)
  tar -xf "$orig" -C "$w" && tar -xf "$deb" -C "$w" || die "lua5.4 $VERSION: could not unpack $orig and $deb"
  src=$(find "$w" -mindepth 1 -maxdepth 1 -type d -name 'lua-*' | head -n 1)
  cves=$(grep -i 'cve' "$w/debian/patches/series" || true)
  [ -n "$cves" ] || die "lua5.4 $VERSION: no CVE patch in Debian's series (has the series changed?)"
  for p in $cves; do
    patch -s -p1 -d "$src" <"$w/debian/patches/$p" >>"$w.log" 2>&1 || die "lua5.4 $VERSION: $p does not apply (see $w.log)"
  done
  make -C "$src" mingw CC="$WIN_CC" >>"$w.log" 2>&1 || die "lua5.4 $VERSION: make mingw failed (see $w.log)"
  rm -rf "$LUA54" && mkdir -p "$LUA54/include"
  cp "$src/src/lua.exe" "$src/src/lua54.dll" "$LUA54/"
  cp "$src/src/lua.h" "$src/src/luaconf.h" "$src/src/lualib.h" "$src/src/lauxlib.h" "$LUA54/include/"
  echo "$cves" >"$LUA54/cve-patches"
  rm -rf "$w" "$w.log"
  : >"$LUA54/.done"
  built "Lua 5.4 built" "$t0"
}

# ---- LuaJIT 2.1: Debian's source with its patches, cross-built.
build_luajit() {
  source_of luajit
  LUAJIT="$CACHE/luajit-$VERSION-$(key Windows)"
  prune "luajit-*" "$LUAJIT"
  [ -f "$LUAJIT/.done" ] && return 0
  t0=$(date +%s)
  say "building LuaJIT $VERSION for Windows"
  w="$CACHE/work/luajit"
  mkdir -p "$CACHE/work"
  unpack "$w"
  make -C "$w" -j"$JOBS" HOST_CC=gcc CROSS="$HOST-" TARGET_SYS=Windows >>"$w.log" 2>&1 ||
    die "luajit $VERSION: the build failed (see $w.log)"
  rm -rf "$LUAJIT" && mkdir -p "$LUAJIT/include"
  cp "$w/src/luajit.exe" "$w/src/lua51.dll" "$LUAJIT/"
  cp "$w/src/lua.h" "$w/src/luaconf.h" "$w/src/lualib.h" "$w/src/lauxlib.h" "$w/src/luajit.h" "$LUAJIT/include/"
  rm -rf "$w" "$w.log"
  : >"$LUAJIT/.done"
  built "LuaJIT built" "$t0"
}

# ---- lua-cjson for one Lua: Debian's source, built by its own Makefile with
# the settings its MinGW section gives.  Its Lua 5.1 shim defines a static
# luaL_setfuncs, which LuaJIT 2.1's lauxlib.h already declares (extern): the
# shim is renamed by a function-like macro, which the header's parenthesised
# declaration `(luaL_setfuncs) (...)` does not expand, so each keeps its own.
build_cjson() {
  lua=$1 luadir=$2 luadll=$3 extra=${4:-}
  source_of lua-cjson
  CJSON="$CACHE/cjson-$VERSION-$lua-$(basename "$luadir")-$(key "$extra")"
  prune "cjson-*-$lua-*" "$CJSON"
  [ -f "$CJSON/.done" ] && return 0
  t0=$(date +%s)
  say "building lua-cjson $VERSION for $lua"
  w="$CACHE/work/cjson-$lua"
  mkdir -p "$CACHE/work"
  unpack "$w"
  make -C "$w" CC="$WIN_CC" TARGET=cjson.dll LUA_INCLUDE_DIR="$luadir/include" \
    CJSON_CFLAGS="-DDISABLE_INVALID_NUMBERS $extra" CJSON_LDFLAGS="-shared -s $luadir/$luadll" >>"$w.log" 2>&1 ||
    die "lua-cjson $VERSION for $lua: the build failed (see $w.log)"
  rm -rf "$CJSON" && mkdir -p "$CJSON"
  cp "$w/cjson.dll" "$CJSON/"
  rm -rf "$w" "$w.log"
  : >"$CJSON/.done"
  built "lua-cjson for $lua built" "$t0"
}

# ---- vinano's core for one Lua, with the Linux build's warnings as errors,
# then the folder a Windows user or a LÖVE game copies as it is.
build_folder() {
  lua=$1 luadir=$2 exe=$3 luadll=$4
  dir="$OUT/$lua" obj="$OUT/obj/$lua"
  rm -rf "$dir" "$obj" && mkdir -p "$dir/vinano" "$dir/lua" "$obj"
  export WARN OBJ="$obj" LUAINC="$luadir/include" CURLINC="$CURL/include"
  # one compiler per job; a failure prints the compiler's words, then says so
  # shellcheck disable=SC2016 # $0 and $1 belong to the inner shell
  printf "%s\n" "$ROOT"/src/*.c | xargs -d "\n" -P "$JOBS" -n 1 sh -c \
    '"$0" -c -O2 -std=c99 $WARN -Werror -I"$LUAINC" -I"$CURLINC" "$1" -o "$OBJ/$(basename "$1" .c).o"' "$WIN_CC" ||
    die "vinano's core does not compile for Windows ($lua), warnings being errors: see above"
  "$WIN_CC" -shared -s -o "$dir/vinano/core.dll" "$obj"/*.o -L"$CURL/lib" -lcurl "$luadir/$luadll" -lws2_32 ||
    die "vinano's core does not link for Windows ($lua)"
  cp "$luadir/$exe" "$luadir/$luadll" "$CURL/bin/libcurl-4.dll" "$CJSON/cjson.dll" "$dir/"
  cp -R "$ROOT/lua/." "$dir/lua/"
  say "$lua: $(cd "$dir" && find . -type f ! -path './lua/*' | LC_ALL=C sort | tr '\n' ' ')+ lua/ ($(find "$dir/lua" -name '*.lua' | wc -l) files)"
}

build_curl
for lua in $LUAS; do
  case $lua in
    lua5.4)
      build_lua54
      build_cjson lua5.4 "$LUA54" lua54.dll
      build_folder lua5.4 "$LUA54" lua.exe lua54.dll ;;
    luajit)
      build_luajit
      build_cjson luajit "$LUAJIT" lua51.dll "-D'luaL_setfuncs(L,l,n)=cjson_setfuncs_51(L,l,n)'"
      build_folder luajit "$LUAJIT" luajit.exe lua51.dll ;;
    *) die "unknown Lua '$lua' (lua5.4 or luajit)" ;;
  esac
done
# what dpkg-source copied beside the unpacked trees
rm -rf "$CACHE/work"
