/*
 * The parts list of c:start{parts = ...} becomes a curl_mime, in order.
 * Each part is {name=, value=} (text), {name=, file=} (streamed from disk by
 * libcurl) or {name=, data=} (bytes), with optional filename= and type=;
 * or a text part as two entries, the name string then the value string
 * (no table per field: what the Lua layer sends for every request).
 * Fields are read with lua_rawget and every value stays on the Lua stack
 * until libcurl has copied it (curl_mime_name/data/filename/type/filedata
 * all copy), so no __index or collection can free a string in use.
 */
#include <string.h>

#include "vinano.h"

/* A header-safe text: no CR, LF, NUL or '"' (it goes inside quotes). */
static const char *header_text(lua_State *L, int t, const char *key, int arg, int i, int required) {
  size_t n;
  const char *s;
  lua_pushstring(L, key);
  lua_rawget(L, t);
  if (lua_isnil(L, -1)) {
    if (required) luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d].%s: string expected", i, key));
    return NULL;
  }
  if (lua_type(L, -1) != LUA_TSTRING)
    luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d].%s: string expected, got %s", i, key, luaL_typename(L, -1)));
  s = lua_tolstring(L, -1, &n);
  if (memchr(s, '\0', n) || memchr(s, '\r', n) || memchr(s, '\n', n) || memchr(s, '"', n))
    luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d].%s: contains CR, LF, NUL or '\"'", i, key));
  return s;
}

/* The string at key, or NULL when absent; left on the stack either way. */
static const char *bytes_field(lua_State *L, int t, const char *key, int arg, int i, size_t *len) {
  lua_pushstring(L, key);
  lua_rawget(L, t);
  if (lua_isnil(L, -1)) return NULL;
  if (lua_type(L, -1) != LUA_TSTRING)
    luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d].%s: string expected, got %s", i, key, luaL_typename(L, -1)));
  return lua_tolstring(L, -1, len);
}

static void oom(lua_State *L, int i) { luaL_error(L, "vinano: out of memory building parts[%d]", i); }

static void add_part(lua_State *L, int t, int arg, int i, curl_mime *mime) {
  size_t vlen = 0, flen = 0, dlen = 0;
  const char *name, *value, *file, *data, *filename, *type;
  int sources;
  curl_mimepart *part;
  int base = lua_gettop(L);
  luaL_checkstack(L, 8, "parts");
  name = header_text(L, t, "name", arg, i, 1);
  value = bytes_field(L, t, "value", arg, i, &vlen);
  file = bytes_field(L, t, "file", arg, i, &flen);
  data = bytes_field(L, t, "data", arg, i, &dlen);
  filename = header_text(L, t, "filename", arg, i, 0);
  type = header_text(L, t, "type", arg, i, 0);
  sources = (value != NULL) + (file != NULL) + (data != NULL);
  if (sources != 1)
    luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d]: exactly one of value=, file= or data= expected", i));
  if (file && memchr(file, '\0', flen)) luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d].file: contains NUL", i));
  if (value && (filename || type))
    luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d]: filename= and type= go with file= or data=", i));

  part = curl_mime_addpart(mime);
  if (!part || curl_mime_name(part, name) != CURLE_OK) oom(L, i);
  if (value) {
    if (curl_mime_data(part, value, vlen) != CURLE_OK) oom(L, i);
  } else if (data) {
    if (curl_mime_data(part, data, dlen) != CURLE_OK) oom(L, i);
  } else if (curl_mime_filedata(part, file) != CURLE_OK) {
    /* libcurl stats the file here: missing or unreadable */
    luaL_error(L, "parts[%d].file: cannot read '%s'", i, file);
  }
  /* curl_mime_filedata sets the file's base name; filename= overrides it */
  if (filename && curl_mime_filename(part, filename) != CURLE_OK) oom(L, i);
  if (type && curl_mime_type(part, type) != CURLE_OK) oom(L, i);
  lua_settop(L, base);
}

/* parts[i] is a string: the name of a text part whose value is parts[i+1]
 * (both on the stack: name at -1). */
static void add_pair(lua_State *L, int parts, int arg, int i, lua_Integer n, curl_mime *mime) {
  size_t nlen, vlen;
  const char *name = lua_tolstring(L, -1, &nlen), *value;
  curl_mimepart *part;
  if (memchr(name, '\0', nlen) || memchr(name, '\r', nlen) || memchr(name, '\n', nlen) || memchr(name, '"', nlen))
    luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d]: a name contains CR, LF, NUL or '\"'", i));
  if (i + 1 > n) luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d]: a name string needs its value after it", i));
  lua_rawgeti(L, parts, i + 1);
  if (lua_type(L, -1) != LUA_TSTRING)
    luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d]: string value expected, got %s", i + 1, luaL_typename(L, -1)));
  value = lua_tolstring(L, -1, &vlen);
  part = curl_mime_addpart(mime);
  if (!part || curl_mime_name(part, name) != CURLE_OK || curl_mime_data(part, value, vlen) != CURLE_OK) oom(L, i);
  lua_pop(L, 1);
}

void vn_form_build(lua_State *L, int parts, int arg, curl_mime *mime) {
  lua_Integer i, n;
  parts = parts < 0 ? lua_gettop(L) + parts + 1 : parts;
  if (lua_type(L, parts) != LUA_TTABLE) luaL_argerror(L, arg, "parts: table expected");
  n = (lua_Integer)lua_rawlen(L, parts);
  if (n > 10000) luaL_argerror(L, arg, "parts: at most 10000 parts");
  luaL_checkstack(L, 4, "parts");
  for (i = 1; i <= n; i++) {
    lua_rawgeti(L, parts, (int)i);
    if (lua_type(L, -1) == LUA_TSTRING) {
      add_pair(L, parts, arg, (int)i, n, mime);
      lua_pop(L, 1);
      i++;
      continue;
    }
    if (lua_type(L, -1) != LUA_TTABLE)
      luaL_argerror(L, arg, lua_pushfstring(L, "parts[%d]: table expected, got %s", (int)i, luaL_typename(L, -1)));
    add_part(L, lua_gettop(L), arg, (int)i, mime);
    lua_pop(L, 1);
  }
}
