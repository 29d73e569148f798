#!/bin/sh
# watchdog.sh LIMIT PID RUNNING: used by scripts/check.sh.  If process PID
# (a session leader: started with setsid) still runs after LIMIT seconds,
# prints where the run was (the file RUNNING, written by
# spec/support/running.lua), the processes of its session and, where gdb can
# attach, its threads' stacks, then ends the whole session: TERM, and KILL
# 5 s later.  A hung spec thus fails with a diagnosis instead of eating CI's
# time.
limit=$1 pid=$2 running=$3
trap 'kill "$sleeper" 2>/dev/null; exit 0' TERM
sleep "$limit" &
sleeper=$!
wait "$sleeper"
kill -0 "$pid" 2>/dev/null || exit 0
echo
echo "=== TIMED OUT: still running after ${limit} s, $(cat "$running" 2>/dev/null)"
echo "=== its processes:"
ps -o pid,ppid,stat,etime,time,args -s "$pid" 2>&1 | cut -c1-200
if command -v gdb >/dev/null 2>&1; then
  echo "=== its threads (gdb):"
  timeout 60 gdb -p "$pid" -batch -ex "thread apply all bt 25" 2>&1 |
    grep -E '^(#|Thread )' | cut -c1-200 | head -n 80
fi
pkill -TERM -s "$pid"
sleep 5 &
sleeper=$!
wait "$sleeper"
pkill -KILL -s "$pid"
exit 0
