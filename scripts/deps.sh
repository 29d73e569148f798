#!/bin/sh
# Makes sure the Debian packages vinano builds and tests with are present:
# installs them when run as root, otherwise prints the exact command.  Prints
# one line per package group: what it is for, and what is installed for it.
#
#   sh scripts/deps.sh                 # every group `make check` needs
#   sh scripts/deps.sh build test      # only some (make check-core, make demo)
groups=${*:-build test packaging http2 neovim love}

pkgs_of() {
  case $1 in
    build) echo "make gcc pkg-config liblua5.4-dev libluajit-5.1-dev libcurl4-openssl-dev" ;;
    test) echo "lua5.4 luajit lua-cjson lua-socket lua-luv lua-busted lua-argparse curl file openssl" ;;
    compat) echo "lua5.1 liblua5.1-0-dev lua5.2 liblua5.2-dev lua5.3 liblua5.3-dev" ;;
    packaging) echo "luarocks lua5.1 liblua5.1-0-dev git" ;;
    http2) echo "nghttp2-server openssl" ;;
    neovim) echo "neovim" ;;
    love) echo "love xvfb xauth libgl1 libgl1-mesa-dri" ;;
    valgrind) echo "valgrind" ;;
    lint) echo "lua-check cppcheck clang-tidy" ;;
    windows) echo "gcc-mingw-w64-x86-64-win32 gcc make dpkg-dev wine64 lua5.4 lua-socket lua-cjson openssl socat" ;;
    *) echo "vinano: unknown package group '$1'" >&2; exit 2 ;;
  esac
}

why_of() {
  case $1 in
    build) echo "to build the C core for Lua 5.4 and LuaJIT against libcurl" ;;
    test) echo "to run the specs (busted), the mock server (LuaSocket), the luv driver spec (lua-luv) and the examples" ;;
    compat) echo "to build and test on PUC Lua 5.1, 5.2 and 5.3 (make check-compat)" ;;
    packaging) echo "for the packaging spec: luarocks pack, then install for Lua 5.4 and 5.1" ;;
    http2) echo "for the HTTP/2 spec: nghttpd serves TLS + h2 locally" ;;
    neovim) echo "for the Neovim specs: the plugin, :checkhealth vinano, :helptags on doc/vinano.txt" ;;
    love) echo "for the LÖVE spec: the example game under Xvfb with Mesa's software renderer" ;;
    valgrind) echo "for make check-valgrind" ;;
    lint) echo "for make lint: luacheck, cppcheck, clang-tidy" ;;
    windows) echo "for make check-windows: mingw-w64 builds libcurl, Lua, LuaJIT, lua-cjson (from Debian's sources: dpkg-dev) and the core for Windows; Wine runs the specs against the mock (lua5.4, LuaSocket), socat serves its TLS front (openssl makes the certificates)" ;;
  esac
}

installed() {
  dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"
}

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "vinano: not a Debian system: install the equivalents of these by hand:"
  for g in $groups; do echo "  $g ($(why_of "$g")): $(pkgs_of "$g")"; done
  exit 0
fi

missing=""
for g in $groups; do
  pkgs=$(pkgs_of "$g") || exit 2
  need=""
  for p in $pkgs; do
    installed "$p" || need="$need $p"
  done
  if [ -z "$need" ]; then
    echo "vinano deps: $g: present ($(why_of "$g"))"
  else
    echo "vinano deps: $g: needs$need ($(why_of "$g"))"
    for p in $need; do
      case " $missing " in *" $p "*) ;; *) missing="$missing $p" ;; esac
    done
  fi
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "vinano deps: installing:$missing"
  export DEBIAN_FRONTEND=noninteractive
  # shellcheck disable=SC2086 # a list of package names
  { apt-get -o DPkg::Lock::Timeout=300 update -qq &&
    apt-get -o DPkg::Lock::Timeout=300 install -y -qq $missing >/dev/null; } || exit 1
else
  echo "vinano deps: missing Debian packages. Run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
  exit 1
fi
