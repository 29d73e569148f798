#!/bin/sh
# Prints the spec files to run, found rather than listed: every
# spec/*_spec.lua except those whose describe/it names carry one of the busted
# tags given (`sh scripts/specs.sh host nocore`).  A new spec carries no tag,
# so every run includes it until it says otherwise.  The tags:
#   #host      runs vinano inside a host program (Neovim, LÖVE), which loads its
#              own LuaJIT build of the core: the interpreter running busted
#              does not matter (skipped by check-compat, -asan, -valgrind, -core)
#   #external  needs a program beyond Lua, busted, lua-cjson, LuaSocket and
#              libcurl (nghttpd, luarocks and a C compiler, nvim): skipped by
#              check-core
#   #nocore    does not exercise the core inside the interpreter running busted
#              (it runs other programs or reads files): skipped by check-asan,
#              -ubsan and -valgrind
#   #slow      most of its time is real waiting (rate windows, kills and
#              reruns) over core paths other specs cover: files with such
#              tests are skipped by check-asan, -ubsan and -valgrind; check-compat
#              skips only those tests (busted --exclude-tags=slow); check runs all
cd "$(dirname "$0")/.." || exit 1
files=$(find spec mock/spec -name "*_spec.lua" | LC_ALL=C sort)
[ $# -eq 0 ] && { echo $files; exit 0; }
pattern=$(echo "$*" | tr ' ' '|')
# a tag is "#name" followed by a non-name character, inside a string literal
echo $(grep -L -E "#($pattern)([^A-Za-z0-9_-]|\$)" $files)
