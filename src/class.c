/*
 * Registering a userdata class, and the argument checks the client and its
 * transfers share (no float-to-integer cast without a range check).
 */
#include <string.h>

#include "vinano.h"

void vn_class_register(lua_State *L, const char *name, const luaL_Reg *methods, const luaL_Reg *meta) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  luaL_setfuncs(L, methods, 0);
  lua_setfield(L, -2, "__index");
  luaL_setfuncs(L, meta, 0);
  lua_pushliteral(L, "locked");
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);
}

int vn_raise(lua_State *L, int arg, const char *what, const char *why) {
  if (arg > 0) {
    lua_pushfstring(L, "%s: %s", what, why);
    return luaL_argerror(L, arg, lua_tostring(L, -1));
  }
  return luaL_error(L, "bad option '%s' (%s)", what, why);
}

double vn_check_seconds(lua_State *L, int idx, int arg, const char *what) {
  lua_Number s;
  if (lua_type(L, idx) != LUA_TNUMBER) vn_raise(L, arg, what, "number of seconds expected");
  s = lua_tonumber(L, idx);
  if (s != s) vn_raise(L, arg, what, "NaN");
  if (!(s > 0)) vn_raise(L, arg, what, "must be > 0");
  if (!(s <= 1e7)) vn_raise(L, arg, what, "must be at most 1e7 seconds");
  return (double)s;
}

long vn_seconds_to_ms(double s) {
  double ms = s * 1000.0 + 0.5;
  if (!(ms >= 1.0)) return 1; /* 0 would mean "no timeout" to libcurl */
  if (ms >= 2147483647.0) return 2147483647L; /* long may be 32 bits */
  return (long)ms;
}

const char *vn_check_line(lua_State *L, int idx, int arg, const char *what, int nul_only, size_t *len) {
  size_t n;
  const char *s;
  if (lua_isnil(L, idx)) return NULL;
  if (lua_type(L, idx) != LUA_TSTRING) vn_raise(L, arg, what, "string expected");
  s = lua_tolstring(L, idx, &n);
  if (memchr(s, '\0', n)) vn_raise(L, arg, what, "contains a NUL byte");
  if (!nul_only && (memchr(s, '\r', n) || memchr(s, '\n', n))) vn_raise(L, arg, what, "contains a line break");
  if (len) *len = n;
  return s;
}
