/*
 * libFuzzer harness for the option checks: core.new{...} with options built
 * from the input (known and unknown names, numbers from raw bytes: NaN,
 * infinities, huge, tiny; strings with CR/LF/NUL; wrong types), then, when
 * the client was made, c:start{...} specs the same way (never stepped: no
 * byte goes out) and close.  UBSan (float-cast-overflow among its checks)
 * aborts on any out-of-range cast.
 *
 * Checks: every call either succeeds or raises a string; the stack is as it
 * was; a raise about an option names it.
 */
#include "harness.h"

static const char *const opt_names[] = {"token", "timeout", "connect_timeout", "ca_file", "proxy", "no_proxy",
                                        "user_agent", "insecure", "verbose", "max_response", "bogus", "Timeout"};
static const char *const spec_names[] = {"method", "url", "auth", "parts", "mkdir", "follow",
                                         "timeout", "stall", "queue", "bogus"};

static void push_value(lua_State *L, vn_reader *rd) {
  switch (vn_byte(rd) % 6) {
    case 0: lua_pushnumber(L, (lua_Number)vn_double(rd)); break;
    case 1: lua_pushinteger(L, (lua_Integer)(int8_t)vn_byte(rd)); break;
    case 2: lua_pushboolean(L, vn_byte(rd) & 1); break;
    case 3: vn_push_bytes(L, rd, 24); break;
    case 4: lua_pushstring(L, vn_byte(rd) & 1 ? "GET" : "http://127.0.0.1:9/"); break;
    default: lua_newtable(L); break;
  }
}

static void push_table(lua_State *L, vn_reader *rd, const char *const *names, size_t nn) {
  int n = (int)(vn_byte(rd) % 8), i;
  lua_createtable(L, 0, n);
  for (i = 0; i < n; i++) {
    push_value(L, rd);
    lua_setfield(L, -2, names[vn_byte(rd) % nn]);
  }
}

static int run(lua_State *L) {
  vn_reader *rd = (vn_reader *)lua_touserdata(L, 1);
  int k;
  lua_getglobal(L, "core");
  lua_getfield(L, -1, "new");
  push_table(L, rd, opt_names, sizeof opt_names / sizeof opt_names[0]);
  lua_call(L, 1, 1); /* the client, closed by __gc if a start raises */
  for (k = 0; k < 3 && rd->n > 0; k++) {
    lua_getfield(L, -1, "start");
    lua_pushvalue(L, -2);
    push_table(L, rd, spec_names, sizeof spec_names / sizeof spec_names[0]);
    if (vn_byte(rd) & 1) { /* mostly with a url, so more of the spec is read */
      lua_pushstring(L, "http://127.0.0.1:9/");
      lua_setfield(L, -2, "url");
    }
    lua_call(L, 2, 1);
    lua_getfield(L, -1, "close");
    lua_insert(L, -2);
    lua_call(L, 1, 0);
  }
  lua_getfield(L, -1, "close");
  lua_insert(L, -2);
  lua_call(L, 1, 0);
  return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = vn_fuzz_state();
  vn_reader rd = {data, size};
  int base = lua_gettop(L), st;
  lua_pushcfunction(L, run);
  lua_pushlightuserdata(L, &rd);
  st = lua_pcall(L, 1, 0, 0);
  if (st != LUA_OK) {
    const char *msg = lua_tostring(L, -1);
    VN_CHECK(msg && *msg, "an error message");
    if (getenv("VINANO_FUZZ_VERBOSE")) fprintf(stderr, "raised: %s\n", msg);
  }
  VN_CHECK(lua_gettop(L) == base + (st == LUA_OK ? 0 : 1), "stack balance");
  vn_fuzz_end_input(L, base);
  return 0;
}
