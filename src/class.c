/*
 * Registering a userdata class, and the argument checks the client and its
 * transfers share (no float-to-integer cast without a range check).
 */
#include <string.h>

#include "vinano.h"

/* Every method and metamethod gets the metatable as its upvalue 1, so that
 * vn_class_check compares with it instead of looking the name up in the
 * registry on every call. */
void vn_class_register(lua_State *L, const char *name, const luaL_Reg *methods, const luaL_Reg *meta) {
  luaL_newmetatable(L, name);
  lua_newtable(L);
  lua_pushvalue(L, -2);
  luaL_setfuncs(L, methods, 1);
  lua_setfield(L, -2, "__index");
  lua_pushvalue(L, -1);
  luaL_setfuncs(L, meta, 1);
  lua_pushliteral(L, "locked");
  lua_setfield(L, -2, "__metatable");
  lua_pop(L, 1);
}

void *vn_class_check(lua_State *L, int idx, const char *name) {
  void *p = lua_touserdata(L, idx);
  if (p && lua_getmetatable(L, idx)) {
    int same = lua_rawequal(L, -1, lua_upvalueindex(1));
    lua_pop(L, 1);
    if (same) return p;
  }
  return luaL_checkudata(L, idx, name); /* not one: its error, as the standard library words it */
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
