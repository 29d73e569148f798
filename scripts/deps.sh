#!/bin/sh
# Makes sure the Debian packages vinano builds and tests with are present:
# installs them when run as root, otherwise prints the exact command.
PKGS="make gcc pkg-config lua5.4 liblua5.4-dev luajit libluajit-5.1-dev libcurl4-openssl-dev lua-cjson lua-argparse lua-socket lua-busted luarocks curl file openssl nghttp2-server neovim love xvfb xauth libgl1 libgl1-mesa-dri"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
if [ "$(id -u)" = 0 ]; then
  echo "vinano: installing Debian packages:$missing"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq && apt-get install -y -qq $missing >/dev/null || exit 1
else
  echo "vinano: missing Debian packages. Run:" >&2
  echo "  sudo apt-get update && sudo apt-get install -y$missing" >&2
  exit 1
fi
