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

.PHONY: all deps check check-compat check-one check-asan check-valgrind demo install install-mock lint clean bench fuzz soak

all: $(MODULE)

$(BUILD)/obj/%.o: src/%.c src/vinano.h src/compat.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(WARN) $(SANITIZE) -fPIC -std=c99 -D_POSIX_C_SOURCE=200809L $(LUA_CFLAGS) $(CURL_CFLAGS) -c $< -o $@

$(MODULE): $(OBJS)
	@mkdir -p $(dir $@)
	$(CC) $(SANITIZE) -shared -o $@ $(OBJS) $(CURL_LIBS)

# Installs missing Debian packages (as root) or prints the apt-get line.
deps:
	@sh scripts/deps.sh

# Every spec on Lua 5.4 and on LuaJIT; ends with one "N passed, N failed" line.
check: deps
	@$(MAKE) --no-print-directory LUA=lua5.4 all
	@$(MAKE) --no-print-directory LUA=luajit all
	@sh scripts/check.sh lua5.4 luajit

# The specs that load the core into the interpreter that runs them (the
# mock's, Neovim's and LÖVE's specs run their own programs whatever runs busted).
CORE_SPECS := spec/validate_spec.lua spec/client_spec.lua spec/wire_spec.lua spec/async_spec.lua \
  spec/reliability_spec.lua spec/http2_spec.lua spec/regressions_spec.lua

# The other supported Luas: PUC 5.1, 5.2 and 5.3.
check-compat: deps
	@for l in luajit lua5.1 lua5.2 lua5.3; do $(MAKE) --no-print-directory LUA=$$l all || exit 1; done
	@VINANO_SPECS="$(CORE_SPECS) spec/examples_spec.lua spec/packaging_spec.lua" sh scripts/check.sh lua5.1 lua5.2 lua5.3

# One Lua only: make check-one LUA=lua5.3
check-one: deps all
	@sh scripts/check.sh $(LUA)

# The specs with the core built under AddressSanitizer + UBSan (LeakSanitizer
# on), run by a small Lua host that carries the sanitizer runtime itself, so
# the programs the specs start (the mock, curl) run uninstrumented.
ASAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
build/lua5.4-asan: scripts/lua-host.c
	$(CC) -O1 -g -rdynamic $(ASAN_FLAGS) $(shell pkg-config --cflags lua5.4) $< -o $@ \
	  -Wl,--whole-archive $(shell pkg-config --variable=libdir lua5.4)/liblua5.4.a -Wl,--no-whole-archive -lm -ldl

check-asan: deps
	@$(MAKE) --no-print-directory LUA=luajit all
	@$(MAKE) --no-print-directory LUA=lua5.4 SANITIZE="$(ASAN_FLAGS)" all build/lua5.4-asan
	@VINANO_BUILD=build/lua5.4-san VINANO_INTERP=./build/lua5.4-asan VINANO_SPECS="$(CORE_SPECS)" \
	  ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 LSAN_OPTIONS=suppressions=$(CURDIR)/scripts/lsan.supp \
	  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 sh scripts/check.sh lua5.4

# The specs under valgrind memcheck: any error or definitely-lost byte fails.
# The same small host (uninstrumented) keeps C modules loaded at exit, so
# that memory held by their static data is not reported as lost.
build/lua5.4-host: scripts/lua-host.c
	$(CC) -O1 -g -rdynamic $(shell pkg-config --cflags lua5.4) $< -o $@ \
	  -Wl,--whole-archive $(shell pkg-config --variable=libdir lua5.4)/liblua5.4.a -Wl,--no-whole-archive -lm -ldl

check-valgrind: deps
	@$(MAKE) --no-print-directory LUA=luajit all
	@$(MAKE) --no-print-directory LUA=lua5.4 CFLAGS="-O1 -g" BUILD=build/lua5.4-vg all build/lua5.4-host
	@VINANO_BUILD=build/lua5.4-vg VINANO_INTERP=./build/lua5.4-host VINANO_SPECS="$(CORE_SPECS)" \
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

demo: deps all
	@sh scripts/demo.sh $(LUA) $(MODULE)

# The client only; the mock is its own product (mock/, `make install-mock`).
install: $(MODULE)
	install -d $(DESTDIR)$(LUA_LIBDIR)/vinano $(DESTDIR)$(LUA_SHAREDIR)/vinano
	install -m 0755 $(MODULE) $(DESTDIR)$(LUA_LIBDIR)/vinano/core.so
	install -m 0644 lua/vinano.lua $(DESTDIR)$(LUA_SHAREDIR)/vinano.lua
	install -m 0644 lua/vinano/*.lua $(DESTDIR)$(LUA_SHAREDIR)/vinano/

# The mock server (pure Lua; needs LuaSocket and lua-cjson at run time):
# its modules under LUA_SHAREDIR and the vinano-mock command in BINDIR, with
# the interpreter LUA in its first line.
BINDIR ?= $(PREFIX)/bin
install-mock:
	install -d $(DESTDIR)$(LUA_SHAREDIR)/vinano/mock $(DESTDIR)$(BINDIR)
	install -m 0644 mock/lua/vinano/mock.lua $(DESTDIR)$(LUA_SHAREDIR)/vinano/mock.lua
	install -m 0644 mock/lua/vinano/mock/*.lua $(DESTDIR)$(LUA_SHAREDIR)/vinano/mock/
	sed '1s|.*|#!/usr/bin/env $(LUA)|' mock/bin/vinano-mock > $(DESTDIR)$(BINDIR)/vinano-mock
	chmod 0755 $(DESTDIR)$(BINDIR)/vinano-mock

lint:
	luacheck lua spec examples mock mock/bin/vinano-mock $(wildcard bench)
	cppcheck --quiet --error-exitcode=1 --enable=warning,performance,portability --inline-suppr \
	  --suppress=missingIncludeSystem --suppress=toomanyconfigs $(LUA_CFLAGS) src
	clang-tidy --quiet src/*.c -- $(LUA_CFLAGS) $(CURL_CFLAGS) -std=c99 -D_POSIX_C_SOURCE=200809L

clean:
	rm -rf build out
