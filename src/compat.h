/*
 * One set of sources for Lua 5.1 (and LuaJIT), 5.2, 5.3 and 5.4.
 * The sources are written against the 5.4 API; this header maps the few
 * calls that differ onto the older APIs.  A module built against the 5.4
 * headers cannot load in LuaJIT (lua_newuserdatauv does not exist there),
 * so each Lua gets its own build of the same files.
 */
#ifndef VINANO_COMPAT_H
#define VINANO_COMPAT_H

#include <lua.h>
#include <lauxlib.h>

#if LUA_VERSION_NUM < 504
#define lua_newuserdatauv(L, size, nuv) lua_newuserdata((L), (size))
#endif

#if LUA_VERSION_NUM == 501
#define lua_rawlen(L, i) lua_objlen((L), (i))
#define luaL_len(L, i) ((lua_Integer)lua_objlen((L), (i)))
#if !defined(LUAJIT_VERSION)
/* PUC 5.1 lacks what LuaJIT 2.1 already provides. */
void vn_compat_setfuncs(lua_State *L, const luaL_Reg *l, int nup);
void *vn_compat_testudata(lua_State *L, int ud, const char *tname);
void vn_compat_setmetatable(lua_State *L, const char *tname);
#define luaL_setfuncs vn_compat_setfuncs
#define luaL_testudata vn_compat_testudata
#define luaL_setmetatable vn_compat_setmetatable
#endif
#endif

#if LUA_VERSION_NUM < 503
#define lua_isinteger(L, i) vn_compat_isinteger((L), (i))
int vn_compat_isinteger(lua_State *L, int i);
#endif

#endif
