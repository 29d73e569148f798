#!/bin/sh
# bench/soak.sh: builds the core and runs bench/soak.lua (10,000 requests in
# one process against the local mock, memory printed every 1000).
#
#   sh bench/soak.sh                      # lua5.4, build/lua5.4 (as `make`)
#   SOAK_REQUESTS=40000 sh bench/soak.sh  # longer
#   SOAK_ASAN=1 sh bench/soak.sh          # the core under ASan+UBSan+LSan, in
#                                         # the small sanitizer host of check-asan;
#                                         # leaks are reported at exit (RSS is
#                                         # not bounded there: ASan's quarantine
#                                         # grows it by design)
#
# Exits non-zero if RSS grows by more than SOAK_MAX_GROWTH_KB (default 8192)
# after the warm-up, on any unexpected outcome, or (SOAK_ASAN=1) on any
# sanitizer report.
cd "$(dirname "$0")/.." || exit 1
make --no-print-directory deps DEPS="build test" >/dev/null || { echo "soak: make deps failed"; exit 1; }
if [ "${SOAK_ASAN:-0}" = 1 ]; then
  flags="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
  make --no-print-directory LUA=lua5.4 SANITIZE="$flags" BUILD=build/soak-asan all build/lua5.4-asan >/dev/null ||
    { echo "soak: the sanitizer build failed"; exit 1; }
  export SOAK_MAX_GROWTH_KB="${SOAK_MAX_GROWTH_KB:-10000000}"
  echo "soak: under ASan+UBSan+LSan (build/soak-asan); RSS growth not bounded in this mode"
  LUA_PATH="./?.lua;./lua/?.lua;$(lua5.4 -e 'io.write(package.path)')" \
  LUA_CPATH="./build/soak-asan/?.so;$(lua5.4 -e 'io.write(package.cpath)')" \
  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS="suppressions=$PWD/scripts/lsan.supp" \
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    exec ./build/lua5.4-asan bench/soak.lua
fi
make --no-print-directory LUA=lua5.4 all >/dev/null || { echo "soak: make failed"; exit 1; }
LUA_PATH="./?.lua;./lua/?.lua;;" LUA_CPATH="./build/lua5.4/?.so;;" exec lua5.4 bench/soak.lua
