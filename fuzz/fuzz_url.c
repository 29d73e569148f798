/*
 * libFuzzer harness for core.parse_url, differential: its answer against
 * libcurl's own CURLU parse of the same bytes (no default scheme).
 *
 * Checks: parse_url returns a table exactly when curl_url_set accepts the
 * input; then scheme and host are libcurl's lower-cased, port is libcurl's
 * (default filled), user, password, path and query are libcurl's; a host
 * never contains '@', '/' or a control byte.
 */
#include "harness.h"

static void same_part(lua_State *L, CURLU *u, CURLUPart part, const char *key, int lower, unsigned flags) {
  char *s = NULL;
  int have = curl_url_get(u, part, &s, flags) == CURLUE_OK && s;
  lua_getfield(L, -1, key);
  if (!have) {
    VN_CHECK(lua_isnil(L, -1), key);
  } else if (part == CURLUPART_PORT) {
    VN_CHECK(lua_tointeger(L, -1) == strtol(s, NULL, 10), "port");
  } else {
    size_t i, n = strlen(s);
    const char *v = lua_tostring(L, -1);
    VN_CHECK(v && lua_rawlen(L, -1) == n, key);
    for (i = 0; i < n; i++) {
      char c = s[i];
      if (lower && c >= 'A' && c <= 'Z') c = (char)(c + 32);
      VN_CHECK(v[i] == c, key);
    }
    if (part == CURLUPART_HOST)
      for (i = 0; i < n; i++) VN_CHECK(v[i] != '@' && v[i] != '/' && (unsigned char)v[i] > 0x20, "host bytes");
  }
  lua_pop(L, 1);
  curl_free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  lua_State *L = vn_fuzz_state();
  int base = lua_gettop(L), st;
  char *s;
  CURLU *u;
  int accepted;
  if (size > 4096) return 0;
  s = (char *)malloc(size + 1);
  if (!s) return 0;
  memcpy(s, data, size);
  s[size] = '\0';
  u = curl_url();
  accepted = !memchr(data, '\0', size) && curl_url_set(u, CURLUPART_URL, s, 0) == CURLUE_OK;
  lua_getglobal(L, "core");
  lua_getfield(L, -1, "parse_url");
  lua_pushlstring(L, (const char *)data, size);
  st = lua_pcall(L, 1, 2, 0);
  VN_CHECK(st == LUA_OK, "parse_url raised");
  if (!accepted) {
    VN_CHECK(lua_isnil(L, -2) && lua_type(L, -1) == LUA_TSTRING, "nil, message for a refused URL");
  } else {
    lua_pop(L, 1);
    VN_CHECK(lua_istable(L, -1), "a table for an accepted URL");
    same_part(L, u, CURLUPART_SCHEME, "scheme", 1, 0);
    same_part(L, u, CURLUPART_HOST, "host", 1, 0);
    same_part(L, u, CURLUPART_PORT, "port", 0, CURLU_DEFAULT_PORT);
    same_part(L, u, CURLUPART_USER, "user", 0, 0);
    same_part(L, u, CURLUPART_PASSWORD, "password", 0, 0);
    same_part(L, u, CURLUPART_PATH, "path", 0, 0);
    same_part(L, u, CURLUPART_QUERY, "query", 0, 0);
  }
  curl_url_cleanup(u);
  free(s);
  vn_fuzz_end_input(L, base);
  return 0;
}
