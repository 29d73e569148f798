#!/bin/sh
# Runs every spec (spec/ and mock/spec/) under each Lua given (lua5.4, luajit, ...) with busted and
# ends with one line "N passed, N failed" summed over all of them.
cd "$(dirname "$0")/.." || exit 1
passed=0; failed=0; status=0
for lua in "$@"; do
  echo "== busted on $lua"
  out=$(mktemp)
  # VINANO_BUILD picks another build of the core (the sanitizer one);
  # VINANO_WRAP runs the interpreter under a tool (valgrind);
  # VINANO_BUSTED_ARGS adds busted options (check-compat: --exclude-tags=slow).
  # ";;" is each interpreter's own default (the mock, run by lua5.4, inherits
  # these); a host built from liblua5.4.a gets the stock lua5.4's spelled out
  syspath=";"; syscpath=";"
  if [ -n "${VINANO_INTERP:-}" ]; then
    syspath=$("$lua" -e 'io.write(package.path)'); syscpath=$("$lua" -e 'io.write(package.cpath)')
  fi
  # Every run has a bound (VINANO_SPEC_LIMIT seconds, default 480): the
  # interpreter leads its own session so that scripts/watchdog.sh can end it
  # with everything it started, after saying which test hung and where; a
  # TERM to this script (CI's own bound) ends that session too.
  running=$(mktemp); report=$(mktemp)
  (
    LUA_PATH="./?.lua;./lua/?.lua;./lua/?/init.lua;./mock/lua/?.lua;$syspath" LUA_CPATH="./${VINANO_BUILD:-build/$lua}/?.so;$syscpath" \
      VINANO_LUA="$lua" VINANO_SPEC_RUNNING="$running" setsid $VINANO_WRAP ${VINANO_INTERP:-$lua} /usr/bin/busted \
      --helper=spec/support/running.lua -o utfTerminal ${VINANO_BUSTED_ARGS:-} ${VINANO_SPECS:-spec mock/spec} 2>&1 &
    pid=$!
    # ended from outside (CI's bound): the session goes too, and what the
    # watchdog found so far is printed (on stderr: the tee may be gone)
    trap 'pkill -TERM -s "$pid"; kill "$dog" 2>/dev/null; sleep 2; pkill -KILL -s "$pid"; cat "$report" >&2; exit 143' TERM INT
    sh scripts/watchdog.sh "${VINANO_SPEC_LIMIT:-480}" "$pid" "$running" >"$report" 2>&1 &
    dog=$!
    wait "$pid"
    st=$?
    # whatever the run left in its session (a mock a failed spec did not
    # stop, a child that outlived a TERM) goes now: nothing may hold the pipe
    pkill -KILL -s "$pid"
    kill "$dog" 2>/dev/null
    wait "$dog"
    echo "exit status $st"
  ) | tee "$out"
  if [ -s "$report" ]; then
    tee -a "$out" <"$report"
  fi
  rm -f "$running" "$report"
  # the interpreter's own status counts too (valgrind's --error-exitcode, a
  # crash after the summary): one more failure when the specs did not fail
  clean_exit=1
  grep -q '^exit status 0$' "$out" || clean_exit=0
  # busted's summary: "N successes / N failures / N errors / N pending : T seconds"
  line=$(grep -E '[0-9]+ success(es)? / [0-9]+ failures? / [0-9]+ errors?' "$out" | tail -n 1)
  if [ -z "$line" ]; then
    echo "busted on $lua printed no summary: counted as a failure"
    failed=$((failed + 1)); status=1
  else
    s=$(echo "$line" | grep -oE '[0-9]+ success' | grep -oE '[0-9]+')
    f=$(echo "$line" | grep -oE '[0-9]+ failure' | grep -oE '[0-9]+')
    e=$(echo "$line" | grep -oE '[0-9]+ error' | grep -oE '[0-9]+')
    p=$(echo "$line" | grep -oE '[0-9]+ pending' | grep -oE '[0-9]+')
    if [ "$clean_exit" = 0 ] && [ $((f + e + p)) -eq 0 ]; then
      echo "$lua exited with an error after the specs passed: counted as a failure"
      f=1
    fi
    passed=$((passed + s)); failed=$((failed + f + e + p))
    [ $((f + e + p)) -eq 0 ] || status=1
    [ "$s" -gt 0 ] || status=1
  fi
  rm -f "$out"
done
echo "$passed passed, $failed failed"
exit $status
