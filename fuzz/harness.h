/*
 * Shared by the libFuzzer harnesses: one lua_State per process with the
 * standard libraries and vinano.core opened from the sources linked into the
 * harness (the .c files of src/), reused across inputs; a byte reader.
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

/* Opens Lua once, with vinano.core as the global `core`. */
static lua_State *vn_fuzz_state(void) {
  lua_State *L;
  if (vn_fuzz_L) return vn_fuzz_L;
  L = vn_fuzz_L = luaL_newstate();
  if (!L) abort();
  luaL_openlibs(L);
  lua_pushcfunction(L, vn_fuzz_traceback);
  lua_pushcfunction(L, luaopen_vinano_core);
  lua_pushstring(L, "vinano.core");
  if (lua_pcall(L, 1, 1, -3) != LUA_OK) vn_fuzz_die(L, "opening vinano.core");
  lua_setglobal(L, "core");
  lua_pop(L, 1);
  return L;
}

/* Per input: back to the base stack, and a full collection now and then so
 * that garbage from earlier inputs is really freed (ASan sees stale reads). */
static void vn_fuzz_end_input(lua_State *L, int base) {
  lua_settop(L, base);
  if (++vn_fuzz_runs % 256 == 0) lua_gc(L, LUA_GCCOLLECT, 0);
}

typedef struct vn_reader {
  const uint8_t *p;
  size_t n;
} vn_reader;

static unsigned vn_byte(vn_reader *rd) {
  if (rd->n == 0) return 0;
  rd->n--;
  return *rd->p++;
}

static size_t vn_take(vn_reader *rd, size_t want, const uint8_t **out) {
  size_t n = want < rd->n ? want : rd->n;
  *out = rd->p;
  rd->p += n;
  rd->n -= n;
  return n;
}

static void vn_push_bytes(lua_State *L, vn_reader *rd, unsigned max) {
  const uint8_t *s;
  size_t n = vn_take(rd, vn_byte(rd) % max, &s);
  lua_pushlstring(L, (const char *)s, n);
}

/* A double from 8 input bytes: NaN, infinities, -0, huge and tiny values. */
static double vn_double(vn_reader *rd) {
  static const double special[] = {0.0, -0.0, 1.0, -1.0, 0.5, 1e7, 1e7 + 1, 1e300, -1e300, 9007199254740992.0,
                                   9007199254740994.0, 2147483647.0, 2147483648.0, 4294967296.0, 1e-9, 100, 101};
  unsigned b = vn_byte(rd);
  if (b < 0x80) return special[b % (sizeof special / sizeof special[0])];
  if (b < 0xa0) return b == 0x80 ? 1.0 / 0.0 : b == 0x81 ? -1.0 / 0.0 : (0.0 / 0.0) * (b & 1 ? 1 : -1);
  {
    uint64_t u = 0;
    double d;
    int i;
    for (i = 0; i < 8; i++) u = (u << 8) | vn_byte(rd);
    memcpy(&d, &u, sizeof d);
    return d;
  }
}

#endif
