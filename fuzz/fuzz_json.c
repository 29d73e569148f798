/*
 * libFuzzer harness for src/json.c: vn_json_push on any bytes.
 *
 * Checks (abort on failure): success pushes exactly one value and failure
 * nothing; a failure's message is "invalid JSON at byte N: ..." with N
 * within the text (1 .. size + 1); a success re-checked by a walk over
 * the value (tables without metatables, numbers that are whole and within
 * 2^53 are integers on 5.4, strings of any bytes); the same text decoded
 * twice gives the same shape (a deterministic decoder); vn_json_is_object
 * agrees with the first non-blank byte.
 */
#include <math.h>

#include "harness.h"

static unsigned long walk(lua_State *L, int idx, int depth) {
  unsigned long n = 1;
  int t = lua_type(L, idx);
  VN_CHECK(depth <= VN_JSON_MAX_DEPTH + 1, "deeper than the bound");
  if (t == LUA_TNUMBER) {
    if (!lua_isinteger(L, idx)) {
      lua_Number d = lua_tonumber(L, idx);
      VN_CHECK(!(d >= -9007199254740992.0 && d <= 9007199254740992.0 && d == floor(d)),
               "a whole number within 2^53 left a float");
    }
  } else if (t == LUA_TTABLE) {
    VN_CHECK(!lua_getmetatable(L, idx), "a decoded table has a metatable");
    lua_pushnil(L);
    while (lua_next(L, idx) != 0) {
      VN_CHECK(lua_type(L, -2) == LUA_TSTRING || lua_type(L, -2) == LUA_TNUMBER, "a key is a string or an index");
      n += walk(L, lua_gettop(L), depth + 1);
      lua_pop(L, 1);
    }
  } else if (t == LUA_TLIGHTUSERDATA) {
    VN_CHECK(lua_touserdata(L, idx) == NULL, "null is the NULL light userdata");
  } else {
    VN_CHECK(t == LUA_TSTRING || t == LUA_TBOOLEAN, "a JSON value type");
  }
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = vn_fuzz_state();
  int base = lua_gettop(L), ok;
  char err[160];
  const char *s = (const char *)data;
  size_t i = 0;
  lua_checkstack(L, 64);
  ok = vn_json_push(L, s, size, err, sizeof err);
  if (getenv("VINANO_FUZZ_VERBOSE")) fprintf(stderr, "%s\n", ok ? "decoded" : err);
  if (ok) {
    unsigned long n1, n2;
    VN_CHECK(lua_gettop(L) == base + 1, "success pushes one value");
    n1 = walk(L, base + 1, 0);
    VN_CHECK(vn_json_push(L, s, size, err, sizeof err), "the same text decodes again");
    n2 = walk(L, base + 2, 0);
    VN_CHECK(n1 == n2, "the same text gives the same shape");
  } else {
    unsigned long at = 0;
    VN_CHECK(lua_gettop(L) == base, "failure pushes nothing");
    VN_CHECK(sscanf(err, "invalid JSON at byte %lu: ", &at) == 1, "the message says where");
    VN_CHECK(at >= 1 && at <= size + 1, "the place is within the text");
  }
  while (i < size && (s[i] == ' ' || s[i] == '\t' || s[i] == '\r' || s[i] == '\n')) i++;
  VN_CHECK(vn_json_is_object(s, size) == (i < size && s[i] == '{'), "is_object");
  vn_fuzz_end_input(L, base);
  return 0;
}
