/*
 * Shared by the libFuzzer harnesses: one lua_State per process, with the
 * standard libraries, lua-cjson from the system path and vinano.core opened
 * from the sources linked into the harness (the .c files of src/), reused across inputs.
 */
#ifndef VN_FUZZ_HARNESS_H
#define VN_FUZZ_HARNESS_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "vinano.h" /* -I src */

int luaopen_vinano_core(lua_State *L);

/* Global, so that LeakSanitizer sees everything Lua still holds as reachable. */
static lua_State *vn_fuzz_L;
static unsigned long vn_fuzz_runs;

/* An input broke one of the harness's checks: report and abort, so that
 * libFuzzer keeps the input as a crash. */
#define VN_CHECK(cond, what)                                                                       \
  do {                                                                                             \
    if (!(cond)) {                                                                                 \
      fprintf(stderr, "vinano fuzz: check failed at %s:%d: %s (%s)\n", __FILE__, __LINE__, what, #cond); \
      abort();                                                                                     \
    }                                                                                              \
  } while (0)

static int vn_fuzz_traceback(lua_State *L) {
  luaL_traceback(L, L, lua_tostring(L, 1), 1);
  return 1;
}

static void vn_fuzz_die(lua_State *L, const char *what) {
  fprintf(stderr, "vinano fuzz: %s: %s\n", what, lua_tostring(L, -1));
  abort();
}

/* Opens Lua once: libs, cjson on the system cpath (LUA_CPATH overrides),
 * vinano.core through luaL_requiref so its metatables are registered as in
 * a real `require "vinano.core"`. */
static lua_State *vn_fuzz_state(void) {
  lua_State *L;
  const char *cpath = getenv("LUA_CPATH");
  if (vn_fuzz_L) return vn_fuzz_L;
  L = vn_fuzz_L = luaL_newstate();
  if (!L) abort();
  luaL_openlibs(L);
  lua_getglobal(L, "package");
  lua_pushstring(L, cpath && *cpath ? cpath
                                    : "/usr/lib/x86_64-linux-gnu/lua/5.4/?.so;/usr/local/lib/lua/5.4/?.so;"
                                      "/usr/lib/lua/5.4/?.so");
  lua_setfield(L, -2, "cpath");
  lua_pop(L, 1);
  lua_pushcfunction(L, vn_fuzz_traceback);
  lua_pushcfunction(L, luaopen_vinano_core);
  lua_pushstring(L, "vinano.core");
  if (lua_pcall(L, 1, 1, -3) != LUA_OK) vn_fuzz_die(L, "opening vinano.core (is lua-cjson installed?)");
  lua_setfield(L, LUA_REGISTRYINDEX, "vinano fuzz: core module");
  lua_pop(L, 1);
  return L;
}

/* Pushes the cjson.safe decoder that vinano.core gave its methods as
 * upvalue 1 (read back from client:start), so the harness decodes with the
 * very instance the module uses. */
static void vn_fuzz_push_decoder(lua_State *L) {
  luaL_getmetatable(L, VN_CLIENT_MT);
  lua_getfield(L, -1, "__index");
  lua_getfield(L, -1, "start");
  if (!lua_iscfunction(L, -1) || lua_getupvalue(L, -1, 1) == NULL || !lua_isfunction(L, -1)) {
    fprintf(stderr, "vinano fuzz: client:start has no decoder upvalue\n");
    abort();
  }
  lua_replace(L, -4);
  lua_pop(L, 2);
}

/* Per input: back to the base stack, and a full collection now and then so
 * that garbage from earlier inputs is really freed (ASan sees stale reads). */
static void vn_fuzz_end_input(lua_State *L, int base) {
  lua_settop(L, base);
  if (++vn_fuzz_runs % 256 == 0) lua_gc(L, LUA_GCCOLLECT, 0);
}

#endif
