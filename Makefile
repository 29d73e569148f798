# vinano: build the C core for one Lua (LUA=lua5.4 by default; also luajit,
# lua5.1, lua5.2, lua5.3), test on 5.4 and LuaJIT, run the demo, install.
LUA        ?= lua5.4
PKG        := $(if $(filter luajit,$(LUA)),luajit,$(LUA))
LUA_CFLAGS ?= $(shell pkg-config --cflags $(PKG) 2>/dev/null)
CURL_CFLAGS ?= $(shell pkg-config --cflags libcurl 2>/dev/null)
CURL_LIBS  ?= $(shell pkg-config --libs libcurl 2>/dev/null || echo -lcurl)
CC         ?= cc
CFLAGS     ?= -O2 -g
WARN       := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wno-unused-parameter
SANITIZE   ?=
BUILD      ?= build/$(LUA)$(if $(SANITIZE),-san)
SRCS       := $(wildcard src/*.c)
OBJS       := $(SRCS:src/%.c=$(BUILD)/obj/%.o)
MODULE     := $(BUILD)/vinano/core.so

LUA_VERSION  := $(if $(filter luajit,$(LUA)),5.1,$(patsubst lua%,%,$(LUA)))
PREFIX       ?= /usr/local
LUA_LIBDIR   ?= $(PREFIX)/lib/lua/$(LUA_VERSION)
LUA_SHAREDIR ?= $(PREFIX)/share/lua/$(LUA_VERSION)
BINDIR       ?= $(PREFIX)/bin
MANDIR       ?= $(PREFIX)/share/man
BASHCOMPDIR  ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR   ?= $(PREFIX)/share/zsh/site-functions

.PHONY: cli-docs check-windows clean-windows-cache distclean reference c-cycles check-ubsan all deps check check-core check-compat check-one check-asan check-valgrind demo install install-mock lint clean bench fuzz soak

# The specs are found, not listed: scripts/specs.sh prints every spec/*_spec.lua
# except those tagged (in a describe or it name) with one of the busted tags given.
# #host: runs in Neovim or LÖVE; #external: needs more than Lua + libcurl;
# #nocore: does not exercise the core in the interpreter running busted.
specs = $(shell sh scripts/specs.sh $(1))

all: $(MODULE)

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(SANITIZE) -fPIC -std=c99 -D_POSIX_C_SOURCE=200809L $(LUA_CFLAGS) $(CURL_CFLAGS) -c $< -o $@

$(MODULE): $(OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SANITIZE) -shared -o $@ $(OBJS) $(CURL_LIBS)

# Installs missing Debian packages (as root) or prints the apt-get line; one
# line per package group says what it is for.  DEPS picks the groups.
DEPS ?= build test packaging http2 neovim love
deps:
	@sh scripts/deps.sh $(DEPS)

# Every spec on Lua 5.4 and on LuaJIT; ends with one "N passed, N failed" line.
check:
	@$(MAKE) --no-print-directory deps DEPS="build test packaging http2 neovim love"
	@$(MAKE) --no-print-directory LUA=lua5.4 all
	@$(MAKE) --no-print-directory LUA=luajit all
	@VINANO_SPECS="$(call specs)" sh scripts/check.sh lua5.4 luajit

# The specs that need only Lua, busted, lua-cjson, LuaSocket and libcurl (no
# Neovim, LÖVE, nghttpd or luarocks), for contributors on other systems.
# LUAS: the interpreters, each by the name make's LUA takes.
LUAS ?= lua5.4 luajit
check-core:
	@$(MAKE) --no-print-directory deps DEPS="build test"
	@for l in $(LUAS); do $(MAKE) --no-print-directory LUA=$$l all || exit 1; done
	@VINANO_SPECS="$(call specs,host external)" sh scripts/check.sh $(LUAS)

# The other supported Luas: PUC 5.1, 5.2 and 5.3 (every spec but the host ones,
# which run Neovim's or LÖVE's LuaJIT whatever runs busted, and the #slow
# tests: real waiting on rate windows and kills, whose Lua `make check` runs
# on 5.4 and LuaJIT).
check-compat:
	@$(MAKE) --no-print-directory deps DEPS="build test compat packaging http2"
	@for l in luajit lua5.1 lua5.2 lua5.3; do $(MAKE) --no-print-directory LUA=$$l all || exit 1; done
	@VINANO_SPECS="$(call specs,host)" VINANO_BUSTED_ARGS="--exclude-tags=slow" VINANO_SPEC_LIMIT=$(COMPAT_SPEC_LIMIT) \
	  sh scripts/check.sh lua5.1 lua5.2 lua5.3

# The bounds of the busted runs of check-compat (per Lua), check-asan and
# check-ubsan, and check-valgrind, seconds (CI raises them: its stages run
# side by side there).
COMPAT_SPEC_LIMIT ?= 300
SAN_SPEC_LIMIT ?= 300
VALGRIND_SPEC_LIMIT ?= 400

# One Lua only: make check-one LUA=lua5.3
check-one:
	@$(MAKE) --no-print-directory deps DEPS="build test compat"
	@$(MAKE) --no-print-directory all
	@VINANO_SPECS="$(call specs)" sh scripts/check.sh $(LUA)

# The specs with the core built under AddressSanitizer + UBSan (LeakSanitizer
# on), run by a small Lua host that carries the sanitizer runtime itself, so
# the programs the specs start (the mock, curl) run uninstrumented.
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
build/lua5.4-asan: scripts/lua-host.c
	$(CC) -O1 -g -rdynamic $(ASAN_FLAGS) $(shell pkg-config --cflags lua5.4) $< -o $@ \
	  -Wl,--whole-archive $(shell pkg-config --variable=libdir lua5.4)/liblua5.4.a -Wl,--no-whole-archive -lm -ldl

check-asan:
	@$(MAKE) --no-print-directory deps DEPS="build test http2"
	@$(MAKE) --no-print-directory LUA=luajit all
	@$(MAKE) --no-print-directory LUA=lua5.4 SANITIZE="$(ASAN_FLAGS)" all build/lua5.4-asan
	@VINANO_BUILD=build/lua5.4-san VINANO_INTERP=./build/lua5.4-asan VINANO_SPECS="$(call specs,host nocore slow)" VINANO_SPEC_LIMIT=$(SAN_SPEC_LIMIT) \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 sh scripts/check.sh lua5.4

# clang's UBSan with the checks gcc lacks (float-cast-overflow: no float is
# cast to an integer it does not fit), on the core's specs.
UBSAN_FLAGS := -fsanitize=undefined,float-cast-overflow,float-divide-by-zero,implicit-integer-truncation \
  -fno-sanitize-recover=all -fno-omit-frame-pointer
build/lua5.4-ubsan-host: scripts/lua-host.c
	clang -O1 -g -rdynamic $(UBSAN_FLAGS) $(shell pkg-config --cflags lua5.4) $< -o $@ \
	  -Wl,--whole-archive $(shell pkg-config --variable=libdir lua5.4)/liblua5.4.a -Wl,--no-whole-archive -lm -ldl

check-ubsan:
	@$(MAKE) --no-print-directory deps DEPS="build test http2 lint"
	@$(MAKE) --no-print-directory LUA=luajit all
	@$(MAKE) --no-print-directory LUA=lua5.4 CC=clang CFLAGS="-O1 -g" SANITIZE="$(UBSAN_FLAGS)" \
	  BUILD=build/lua5.4-ubsan all build/lua5.4-ubsan-host
	@VINANO_BUILD=build/lua5.4-ubsan VINANO_INTERP=./build/lua5.4-ubsan-host VINANO_SPECS="$(call specs,host nocore slow)" VINANO_SPEC_LIMIT=$(SAN_SPEC_LIMIT) \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 sh scripts/check.sh lua5.4

# The specs under valgrind memcheck: any error or definitely-lost byte fails.
# The same small host (uninstrumented) keeps C modules loaded at exit, so
# that memory held by their static data is not reported as lost.
build/lua5.4-host: scripts/lua-host.c
	$(CC) -O1 -g -rdynamic $(shell pkg-config --cflags lua5.4) $< -o $@ \
	  -Wl,--whole-archive $(shell pkg-config --variable=libdir lua5.4)/liblua5.4.a -Wl,--no-whole-archive -lm -ldl

check-valgrind:
	@$(MAKE) --no-print-directory deps DEPS="build test http2 valgrind"
	@$(MAKE) --no-print-directory LUA=luajit all
	@$(MAKE) --no-print-directory LUA=lua5.4 CFLAGS="-O1 -g" BUILD=build/lua5.4-vg all build/lua5.4-host
	@VINANO_BUILD=build/lua5.4-vg VINANO_INTERP=./build/lua5.4-host VINANO_SPECS="$(call specs,host nocore slow)" VINANO_SPEC_LIMIT=$(VALGRIND_SPEC_LIMIT) \
	  VINANO_WRAP="valgrind -q --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite --show-leak-kinds=definite" \
	  sh scripts/check.sh lua5.4

# Benchmarks against a local HTTPS nginx; see bench/README.md.
bench:
	@bash bench/run.sh

# libFuzzer harnesses for src/response.c and src/form.c (clang; ASan+UBSan+LSan),
# each for FUZZ_SECONDS after replaying fuzz/regressions/. See fuzz/README.md.
FUZZ_SECONDS ?= 60
fuzz:
	@FUZZ_SECONDS=$(FUZZ_SECONDS) sh fuzz/run.sh

# 10,000 requests in one process against the mock, memory every 1000
# (SOAK_ASAN=1: under the sanitizers). Fails if RSS grows > 8 MB after warm-up.
soak: deps
	@sh bench/soak.sh

demo:
	@$(MAKE) --no-print-directory deps DEPS="build test"
	@$(MAKE) --no-print-directory all
	@sh scripts/demo.sh $(LUA) $(MODULE)

# The client only; the mock is its own product (mock/, `make install-mock`).
install: $(MODULE)
	install -d $(DESTDIR)$(LUA_LIBDIR)/vinano $(DESTDIR)$(LUA_SHAREDIR)/vinano
	install -m 0755 $(MODULE) $(DESTDIR)$(LUA_LIBDIR)/vinano/core.so
	install -m 0644 lua/vinano.lua $(DESTDIR)$(LUA_SHAREDIR)/vinano.lua
	cp -R lua/vinano/. $(DESTDIR)$(LUA_SHAREDIR)/vinano/
	install -d $(DESTDIR)$(BINDIR)
	sed '1s|.*|#!/usr/bin/env $(LUA)|' bin/vinano > $(DESTDIR)$(BINDIR)/vinano
	chmod 0755 $(DESTDIR)$(BINDIR)/vinano
	install -d $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0644 doc/vinano.1 $(DESTDIR)$(MANDIR)/man1/vinano.1
	install -m 0644 completions/vinano.bash $(DESTDIR)$(BASHCOMPDIR)/vinano
	install -m 0644 completions/_vinano $(DESTDIR)$(ZSHCOMPDIR)/_vinano
	@# Neovim's runtime files, where the rock puts them too (doc/vinano.txt, install)
	install -d $(DESTDIR)$(LUA_SHAREDIR)/vinano/nvim/doc $(DESTDIR)$(LUA_SHAREDIR)/vinano/nvim/lua/vinano
	install -m 0644 doc/vinano.txt doc/tags $(DESTDIR)$(LUA_SHAREDIR)/vinano/nvim/doc/
	install -m 0644 lua/vinano/health.lua $(DESTDIR)$(LUA_SHAREDIR)/vinano/nvim/lua/vinano/health.lua

# The man page and the bash/zsh completions, from the command's argparse
# definitions (spec/cli_habits_spec.lua fails when they are stale).
cli-docs: all
	LUA_CPATH="./$(BUILD)/?.so;;" $(LUA) scripts/cli-docs.lua

# doc/tags, shipped so that an installed :help works without :helptags
# (spec/vimdoc_spec.lua fails when it is stale).
doc/tags: doc/vinano.txt
	nvim --headless -u NONE -i NONE -c 'helptags doc' -c 'qa!'

# docs/reference.md from the LuaCATS annotations (spec/reference_spec.lua
# fails when the page and the code disagree).
reference:
	lua5.4 scripts/reference.lua > docs/reference.md

# No cycle between the C files: who calls whom, from nm on the objects.
c-cycles: all
	@lua5.4 scripts/c-cycles.lua $(OBJS)


# The mock server (pure Lua; needs LuaSocket and lua-cjson at run time):
# its modules under LUA_SHAREDIR and the vinano-mock command in BINDIR, with
# the interpreter LUA in its first line.
install-mock:
	install -d $(DESTDIR)$(LUA_SHAREDIR)/vinano/mock $(DESTDIR)$(BINDIR)
	install -m 0644 mock/lua/vinano/mock.lua $(DESTDIR)$(LUA_SHAREDIR)/vinano/mock.lua
	install -m 0644 mock/lua/vinano/mock/*.lua $(DESTDIR)$(LUA_SHAREDIR)/vinano/mock/
	sed '1s|.*|#!/usr/bin/env $(LUA)|' mock/bin/vinano-mock > $(DESTDIR)$(BINDIR)/vinano-mock
	chmod 0755 $(DESTDIR)$(BINDIR)/vinano-mock

lint: c-cycles
	luacheck lua spec examples bin scripts mock mock/bin/vinano-mock .busted $(wildcard bench)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --inline-suppr \
	  --suppress=missingIncludeSystem --suppress=toomanyconfigs $(LUA_CFLAGS) src
	clang-tidy --quiet src/*.c -- $(LUA_CFLAGS) $(CURL_CFLAGS) -std=c99 -D_POSIX_C_SOURCE=200809L

# The core for Windows x86_64, built and tested: libcurl (Schannel), Lua 5.4,
# LuaJIT 2.1 and lua-cjson cross-built by mingw-w64 from Debian's sources
# (cached in WIN_CACHE), vinano's core with the warnings above as errors, the
# ready-to-copy folders build/windows/lua5.4/ and build/windows/luajit/, then
# spec/windows/ under Wine with each folder's interpreter against the mock.
# Ends with "N passed, N failed"; see scripts/windows/check.sh.
WIN_CACHE ?= $(CURDIR)/.cache/windows
check-windows:
	@$(MAKE) --no-print-directory deps DEPS="windows"
	@WIN_CACHE="$(WIN_CACHE)" WARN="$(WARN)" sh scripts/windows/check.sh

# What check-windows downloaded and built outside vinano's sources.
clean-windows-cache:
	rm -rf $(WIN_CACHE)

# Back to a fresh clone: the build, the demo's output, and what older
# `luarocks make` runs left in the tree (objects beside their sources, a
# ./vinano/core.so that `./?.so` would load, packed rocks).
clean:
	rm -rf build out vinano luarocks
	rm -f src/*.o src/*.so *.rock luacov.* crash-* leak-* timeout-* oom-* slow-unit-*

# clean, and the Windows build's cache of downloads and third-party builds.
distclean: clean clean-windows-cache
	@rmdir .cache 2>/dev/null || true
