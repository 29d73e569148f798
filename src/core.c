/*
 * luaopen_vinano_core: the one exported symbol.  Sets up libcurl once per
 * process, the error metatable, and a private lua-cjson decoder that the
 * client and request methods share as their first upvalue.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <time.h>

#include "vinano.h"

#define VN_VERSION "0.1.0"

/* Pushes an error table; fmt is lua_pushfstring's (%s %d %f %%). */
int vn_push_error(lua_State *L, const char *kind, long status, const char *fmt, ...) {
  va_list ap;
  lua_createtable(L, 0, 4);
  va_start(ap, fmt);
  lua_pushvfstring(L, fmt, ap);
  va_end(ap);
  lua_setfield(L, -2, "message");
  lua_pushstring(L, kind);
  lua_setfield(L, -2, "kind");
  if (status > 0) {
    lua_pushinteger(L, (lua_Integer)status);
    lua_setfield(L, -2, "status");
  }
  luaL_getmetatable(L, VN_ERROR_MT);
  lua_setmetatable(L, -2);
  return 1;
}

/* "vinano: rate_limited (HTTP 429): Rate limit exceeded; retry after 30 s" */
static int error_tostring(lua_State *L) {
  luaL_Buffer b;
  luaL_checktype(L, 1, LUA_TTABLE);
  luaL_buffinit(L, &b);
  luaL_addstring(&b, "vinano: ");
  lua_getfield(L, 1, "kind");
  luaL_addstring(&b, lua_isstring(L, -1) ? lua_tostring(L, -1) : "error");
  lua_pop(L, 1);
  lua_getfield(L, 1, "status");
  if (lua_isnumber(L, -1)) {
    char s[32];
    snprintf(s, sizeof s, " (HTTP %ld)", (long)lua_tointeger(L, -1));
    luaL_addstring(&b, s);
  }
  lua_pop(L, 1);
  lua_getfield(L, 1, "message");
  if (lua_isstring(L, -1)) {
    luaL_addstring(&b, ": ");
    luaL_addstring(&b, lua_tostring(L, -1));
  }
  lua_pop(L, 1);
  lua_getfield(L, 1, "retry_after");
  if (lua_isnumber(L, -1)) {
    char s[64];
    snprintf(s, sizeof s, "; retry after %g s", (double)lua_tonumber(L, -1));
    luaL_addstring(&b, s);
  }
  lua_pop(L, 1);
  lua_getfield(L, 1, "attempts");
  if (lua_isnumber(L, -1) && lua_tointeger(L, -1) > 1) {
    char s[64];
    snprintf(s, sizeof s, " (after %ld attempts)", (long)lua_tointeger(L, -1));
    luaL_addstring(&b, s);
  }
  lua_pop(L, 1);
  luaL_pushresult(&b);
  return 1;
}

/* core.error{kind=, status=, message=, ...}: gives a table the error metatable */
static int core_error(lua_State *L) {
  luaL_checktype(L, 1, LUA_TTABLE);
  lua_settop(L, 1);
  luaL_getmetatable(L, VN_ERROR_MT);
  lua_setmetatable(L, 1);
  return 1;
}

/* A blocking sleep for scripts that have no event loop. */
static int core_sleep(lua_State *L) {
  double s = luaL_checknumber(L, 1);
  struct timespec ts;
  if (s <= 0) return 0;
  ts.tv_sec = (time_t)s;
  ts.tv_nsec = (long)((s - (double)ts.tv_sec) * 1e9);
  while (nanosleep(&ts, &ts) == -1 && errno == EINTR) {
  }
  return 0;
}

/* Monotonic seconds, for deadlines that do not jump with the wall clock. */
static int core_now(lua_State *L) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  lua_pushnumber(L, (lua_Number)ts.tv_sec + (lua_Number)ts.tv_nsec / 1e9);
  return 1;
}

static int push_cjson_decoder(lua_State *L) {
  lua_getglobal(L, "require");
  lua_pushstring(L, "cjson.safe");
  lua_call(L, 1, 1);
  /* a private instance, so the user's own cjson settings never affect us */
  lua_getfield(L, -1, "new");
  lua_call(L, 0, 1);
  lua_getfield(L, -1, "decode");
  lua_replace(L, -3);
  lua_pop(L, 1);
  return 1;
}

int luaopen_vinano_core(lua_State *L) {
  static const luaL_Reg error_meta[] = {{"__tostring", error_tostring}, {NULL, NULL}};
  static const luaL_Reg funcs[] = {
      {"new", vn_client_new}, {"error", core_error}, {"sleep", core_sleep}, {"now", core_now}, {NULL, NULL}};
  static int curl_ready = 0;

  if (!curl_ready) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return luaL_error(L, "vinano: curl_global_init failed");
    curl_ready = 1;
  }

  luaL_newmetatable(L, VN_ERROR_MT);
  luaL_setfuncs(L, error_meta, 0);
  lua_pop(L, 1);

  push_cjson_decoder(L);
  lua_pushvalue(L, -1);
  vn_client_register(L); /* pops one copy of the decoder */
  vn_request_register(L); /* pops the other */

  lua_newtable(L);
  luaL_setfuncs(L, funcs, 0);
  lua_pushliteral(L, VN_VERSION);
  lua_setfield(L, -2, "version");
  lua_pushstring(L, curl_version());
  lua_setfield(L, -2, "curl_version");
  return 1;
}
