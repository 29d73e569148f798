#!/bin/sh
# Builds the libFuzzer harnesses and runs each for FUZZ_SECONDS (default 60):
# first the committed regression inputs (fuzz/regressions/NAME/), then
# fuzzing from the seed corpus (fuzz/corpus/NAME/) plus the corpus grown by
# earlier runs on this machine (build/fuzz/corpus/NAME/, never committed).
#
#   sh fuzz/run.sh                       # every harness, 60 s each
#   FUZZ_SECONDS=20 sh fuzz/run.sh       # as CI runs it
#   FUZZ_TARGETS=form sh fuzz/run.sh     # one harness
#   FUZZ_ARGS="-jobs=2" ...              # extra libFuzzer flags
#
# Prints one summary line per harness and ends with "N passed, N failed" (one
# per harness, the line .ci/run counts);
# exits non-zero on any crash, leak, sanitizer report, timeout or OOM.
cd "$(dirname "$0")/.." || exit 1
FUZZ_SECONDS=${FUZZ_SECONDS:-60}
FUZZ_TARGETS=${FUZZ_TARGETS:-form trace url options snippet json}

OUT=${FUZZ_OUT:-build/fuzz} # SRC_DIR=... FUZZ_OUT=... builds another copy of src/

# clang with libFuzzer, the Lua 5.4 static library, libcurl.
need=""
command -v clang >/dev/null 2>&1 || need="$need clang"
for p in libclang-rt-dev liblua5.4-dev libcurl4-openssl-dev make pkg-config; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || need="$need $p"
done
if [ -n "$need" ]; then
  if [ "$(id -u)" = 0 ]; then
    echo "fuzz: installing Debian packages:$need"
    export DEBIAN_FRONTEND=noninteractive
    # shellcheck disable=SC2086 # $need is a list of package names
    { apt-get -o DPkg::Lock::Timeout=300 update -qq &&
      apt-get -o DPkg::Lock::Timeout=300 install -y -qq $need >/dev/null; } || {
      echo "fuzz: apt-get install failed"; echo "0 passed, 1 failed"; exit 1; }
  else
    echo "fuzz: missing Debian packages; run: sudo apt-get install -y$need" >&2
    echo "0 passed, 1 failed"
    exit 1
  fi
fi

mkdir -p "$OUT"
case "$OUT" in /*) out_abs=$OUT ;; *) out_abs=$PWD/$OUT ;; esac
if ! make --no-print-directory -f fuzz/Makefile OUT="$out_abs" >"$OUT/build.log" 2>&1; then
  cat "$OUT/build.log"
  echo "fuzz: the harnesses did not build"
  echo "0 passed, 1 failed"
  exit 1
fi

# The form harness makes its files (a sparse 100 MB + 1 file among them)
# under TMPDIR: keep them in build/, where a crashed run leaves nothing in /tmp.
export TMPDIR="$out_abs/tmp"
rm -rf "$TMPDIR"
mkdir -p "$TMPDIR" "$OUT/artifacts"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1:allocator_may_return_null=1}"
export UBSAN_OPTIONS="${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}"

passed=0; failed=0
for name in $FUZZ_TARGETS; do
  bin="$OUT/fuzz_$name"
  log="$OUT/$name.log"
  seeds="fuzz/corpus/$name"
  work="$OUT/corpus/$name"
  mkdir -p "$work"
  : >"$log"
  problem=""

  # 1. every committed regression input must run clean
  if [ -d "fuzz/regressions/$name" ] && [ -n "$(ls -A "fuzz/regressions/$name" 2>/dev/null)" ]; then
    nbad=0
    for input in "fuzz/regressions/$name"/*; do
      case "$input" in *.md | *.txt | *.lua) continue ;; esac
      : >"$log.one"
      if ! "$bin" -runs=1 "$input" >"$log.one" 2>&1; then
        what=$(grep -m1 -E '^SUMMARY: |vinano fuzz: check failed' "$log.one")
        echo "fuzz $name: regression input $input fails: ${what:-see $log} (reproduce: $bin $input)"
        nbad=$((nbad + 1))
      fi
      cat "$log.one" >>"$log"
    done
    rm -f "$log.one"
    [ "$nbad" -eq 0 ] || problem="$nbad regression input(s) fail (listed above; details in $log)"
  fi

  # 2. fuzzing
  dict=""
  [ -f "fuzz/$name.dict" ] && dict="-dict=fuzz/$name.dict"
  if [ -z "$problem" ]; then
    # shellcheck disable=SC2086
    "$bin" -max_total_time="$FUZZ_SECONDS" -timeout=10 -rss_limit_mb=2560 -print_final_stats=1 \
      -artifact_prefix="$OUT/artifacts/$name-" $dict ${FUZZ_ARGS:-} "$work" "$seeds" >>"$log" 2>&1
    st=$?
    if [ "$st" -ne 0 ]; then
      artifact=$(sed -n 's/.*Test unit written to \(.*\)$/\1/p' "$log" | tail -n 1)
      what=$(grep -m1 -E '^SUMMARY: |ERROR: (AddressSanitizer|LeakSanitizer|libFuzzer)|runtime error:|vinano fuzz: check failed' "$log")
      problem="exit $st: ${what:-see $log}${artifact:+; input saved to $artifact (reproduce: $bin $artifact)}"
    fi
  fi

  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -n 1)
  last=$(grep -E '^#[0-9]+.*cov: [0-9]+' "$log" | tail -n 1)
  cov=$(echo "$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p')
  ft=$(echo "$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p')
  corp=$(echo "$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p')
  nseeds=$(find "$seeds" -type f | wc -l)
  if [ -z "$problem" ]; then
    passed=$((passed + 1))
    echo "fuzz $name: ok: ${execs:-?} execs in ${FUZZ_SECONDS} s (${rate:-?}/s), cov ${cov:-?} ft ${ft:-?}, corpus ${corp:-?} (${nseeds} seeds), no crash, leak or sanitizer report"
  else
    failed=$((failed + 1))
    echo "---- from $log:"
    grep -m1 -A16 -E 'ERROR: |runtime error:|vinano fuzz: check failed|==[0-9]+== ' "$log" || tail -n 30 "$log"
    echo "fuzz $name: FAILED${execs:+ after $execs execs}: $problem"
  fi
done
# FUZZ_COVERAGE=1: line and branch coverage of the sources each harness
# targets, over the seeds plus the grown corpus (llvm-cov, no sanitizers).
if [ "${FUZZ_COVERAGE:-0}" = 1 ]; then
  if make --no-print-directory -f fuzz/Makefile OUT="$out_abs" coverage-build >"$OUT/cov-build.log" 2>&1; then
    src=${SRC_DIR:-src}
    for name in $FUZZ_TARGETS; do
      case $name in form) files="$src/form.c" ;; trace | snippet) files="$src/trace.c" ;; url) files="$src/core.c" ;; options) files="$src/client.c $src/class.c $src/transfer.c" ;; *) files="" ;; esac
      rm -f "$OUT/cov/$name.profraw"
      LLVM_PROFILE_FILE="$OUT/cov/$name.profraw" "$OUT/cov/fuzz_$name" -runs=0 "$OUT/corpus/$name" "fuzz/corpus/$name" \
        >"$OUT/cov/$name.log" 2>&1
      # shellcheck disable=SC2086 # $files is a list of paths
      llvm-profdata merge -sparse "$OUT/cov/$name.profraw" -o "$OUT/cov/$name.profdata" &&
        llvm-cov report "$OUT/cov/fuzz_$name" -instr-profile="$OUT/cov/$name.profdata" $files |
        awk -v n="$name" 'NR > 2 && NF >= 10 && $1 !~ /^-/ && $1 != "TOTAL" { sub(".*/", "", $1); printf "fuzz %s coverage: %s lines %s, branches %s, functions %s\n", n, $1, $(NF-3), $NF, $(NF-6) }'
    done
  else
    echo "fuzz: coverage build failed (see $OUT/cov-build.log)"
  fi
fi
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
