/*
 * A minimal stand-alone Lua 5.4 interpreter (a script and its arguments, or
 * -e and a chunk, as the specs' child processes run it), built
 * with the sanitizers for `make check-asan`.  The stock lua5.4 would need the
 * ASan runtime through LD_PRELOAD, which every program the specs start (the
 * mock, curl) would inherit; this host carries the runtime itself instead.
 */
#include <stdio.h>
#include <string.h>
#include <lua.h>
#include <lauxlib.h>
#include <lualib.h>

static lua_State *L; /* global: LeakSanitizer sees what Lua still holds at exit */

/* lua_close unloads C modules; kept loaded, their frames in a leak report
 * keep their names.  The executable's definition interposes libc's. */
int dlclose(void *handle);
int dlclose(void *handle) {
  (void)handle;
  return 0;
}

static int traceback(lua_State *S) {
  luaL_traceback(S, S, lua_tostring(S, 1), 1);
  return 1;
}

int main(int argc, char **argv) {
  int i, status;
  if (argc < 2) {
    fprintf(stderr, "usage: %s script.lua [args...] | -e chunk\n", argv[0]);
    return 2;
  }
  L = luaL_newstate();
  luaL_openlibs(L);
  lua_createtable(L, argc, 1);
  for (i = 0; i < argc; i++) {
    lua_pushstring(L, argv[i]);
    lua_rawseti(L, -2, i - 1);
  }
  lua_setglobal(L, "arg");
  lua_pushcfunction(L, traceback);
  if (argc >= 3 && argv[1][0] == '-' && argv[1][1] == 'e' && argv[1][2] == '\0') {
    status = luaL_loadbuffer(L, argv[2], strlen(argv[2]), "=(command line)");
    if (status == LUA_OK) status = lua_pcall(L, 0, 0, 1);
  } else {
    status = luaL_loadfile(L, argv[1]);
    if (status == LUA_OK) {
      for (i = 2; i < argc; i++) lua_pushstring(L, argv[i]);
      status = lua_pcall(L, argc - 2, 0, 1);
    }
  }
  if (status != LUA_OK) fprintf(stderr, "%s\n", lua_tostring(L, -1));
  lua_close(L);
  return status == LUA_OK ? 0 : 1;
}
