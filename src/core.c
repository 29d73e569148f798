/*
 * luaopen_vinano_core: the module table and its functions.  libcurl is set
 * up once per process; curl_version() is never called (it initialises
 * LDAP, SASL and more: millions of instructions for a string).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <lualib.h>

#include "vinano.h"

static int core_curl(lua_State *L) {
  const curl_version_info_data *v = curl_version_info(CURLVERSION_NOW);
  int i;
  lua_createtable(L, 0, 6);
  lua_pushstring(L, v->version);
  lua_setfield(L, -2, "version");
  lua_pushinteger(L, (lua_Integer)v->version_num);
  lua_setfield(L, -2, "version_num");
  lua_pushstring(L, v->ssl_version ? v->ssl_version : "");
  lua_setfield(L, -2, "ssl");
  lua_pushboolean(L, (v->features & CURL_VERSION_HTTP2) != 0);
  lua_setfield(L, -2, "http2");
#ifdef CURL_VERSION_HTTP3
  lua_pushboolean(L, (v->features & CURL_VERSION_HTTP3) != 0);
#else
  lua_pushboolean(L, 0);
#endif
  lua_setfield(L, -2, "http3");
  lua_newtable(L);
  for (i = 0; v->protocols && v->protocols[i]; i++) {
    lua_pushstring(L, v->protocols[i]);
    lua_rawseti(L, -2, i + 1);
  }
  lua_setfield(L, -2, "protocols");
  return 1;
}

static void lower_ascii(char *s) {
  for (; *s; s++)
    if (*s >= 'A' && *s <= 'Z') *s = (char)(*s + 32);
}

/* Sets field key of the table on top to the URL part, if present. */
static void url_part(lua_State *L, CURLU *u, CURLUPart what, const char *key, int lower) {
  char *s = NULL;
  if (curl_url_get(u, what, &s, 0) == CURLUE_OK && s) {
    if (lower) lower_ascii(s);
    lua_pushstring(L, s);
    lua_setfield(L, -2, key);
  }
  curl_free(s);
}

/* core.parse_url(s): libcurl's own parser, no default scheme guessed. */
static int core_parse_url(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  CURLU *u;
  CURLUcode rc;
  char *port = NULL;
  if (memchr(s, '\0', n)) {
    lua_pushnil(L);
    lua_pushliteral(L, "contains a NUL byte");
    return 2;
  }
  u = curl_url();
  if (!u) return luaL_error(L, "vinano: out of memory");
  rc = curl_url_set(u, CURLUPART_URL, s, 0);
  if (rc != CURLUE_OK) {
    curl_url_cleanup(u);
    lua_pushnil(L);
#if LIBCURL_VERSION_NUM >= 0x075000
    if (rc == CURLUE_BAD_SCHEME || rc == CURLUE_NO_SCHEME ||
        (rc == CURLUE_UNSUPPORTED_SCHEME && !strstr(s, "://"))) /* "host:8080" */
#else
    if (rc == CURLUE_MALFORMED_INPUT)
#endif
      lua_pushliteral(L, "no scheme");
    else
#if LIBCURL_VERSION_NUM >= 0x075000
      lua_pushstring(L, curl_url_strerror(rc));
#else
      lua_pushfstring(L, "bad URL (CURLUcode %d)", (int)rc);
#endif
    return 2;
  }
  lua_createtable(L, 0, 7);
  url_part(L, u, CURLUPART_SCHEME, "scheme", 1);
  url_part(L, u, CURLUPART_HOST, "host", 1);
  url_part(L, u, CURLUPART_USER, "user", 0);
  url_part(L, u, CURLUPART_PASSWORD, "password", 0);
  url_part(L, u, CURLUPART_PATH, "path", 0);
  url_part(L, u, CURLUPART_QUERY, "query", 0);
  if (curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) == CURLUE_OK && port) {
    lua_pushinteger(L, (lua_Integer)strtol(port, NULL, 10));
    lua_setfield(L, -2, "port");
  }
  curl_free(port);
  curl_url_cleanup(u);
  return 1;
}

static int core_now(lua_State *L) {
  lua_pushnumber(L, (lua_Number)vn_now());
  return 1;
}

static int core_sleep(lua_State *L) {
  lua_Number s = luaL_checknumber(L, 1);
  if (s != s) return luaL_argerror(L, 1, "seconds expected, got NaN");
  if (s < 0) return luaL_argerror(L, 1, "seconds must be >= 0");
  if (!(s - s == 0)) return luaL_argerror(L, 1, "seconds must be finite");
  vn_sleep((double)s);
  return 0;
}

static int core_stat(lua_State *L) {
  static const char *const types[] = {"file", "directory", "fifo", "socket", "device", "link", "other"};
  const char *path = luaL_checkstring(L, 1);
  vn_fileinfo fi;
  char msg[512];
  if (vn_stat(path, &fi, msg, sizeof msg) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, msg);
    return 2;
  }
  lua_createtable(L, 0, 4);
  lua_pushstring(L, types[fi.type]);
  lua_setfield(L, -2, "type");
  lua_pushnumber(L, (lua_Number)fi.size);
  lua_setfield(L, -2, "size");
  lua_pushinteger(L, (lua_Integer)fi.mode);
  lua_setfield(L, -2, "mode");
  if (fi.link) {
    lua_pushboolean(L, 1);
    lua_setfield(L, -2, "link");
  }
  return 1;
}

static int core_readable(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  char msg[512];
  if (vn_readable(path, msg, sizeof msg) != 0) {
    lua_pushnil(L);
    lua_pushstring(L, msg);
    return 2;
  }
  lua_pushboolean(L, 1);
  return 1;
}

/* core.writable(path): what a download to path needs, checked before
 * anything is paid for: path a regular file when it exists, its folders
 * (created, as the download would create them), a temporary file beside it
 * (created and removed).  true, or nil and the reason. */
static int core_writable(lua_State *L) {
  const char *path = luaL_checkstring(L, 1);
  vn_fileinfo fi;
  vn_file f;
  char msg[640], why[128];
  int err;
  msg[0] = '\0';
  if (vn_stat(path, &fi, msg, sizeof msg) == 0 && fi.type != VN_FT_FILE) {
    snprintf(msg, sizeof msg, "%s: %s", path, fi.type == VN_FT_DIR ? "is a folder, not a file name" : "not a regular file");
  } else if ((err = vn_mkdir_parents(path)) != 0) {
    vn_strerror(err, why, sizeof why);
    snprintf(msg, sizeof msg, "%s: cannot create its folders: %s", path, why);
  } else if ((err = vn_mkstemp_beside(path, &f)) != 0) {
    vn_strerror(err, why, sizeof why);
    snprintf(msg, sizeof msg, "%s: cannot create a file in its folder: %s", path, why);
  } else {
    vn_file_discard(&f);
    lua_pushboolean(L, 1);
    return 1;
  }
  lua_pushnil(L);
  lua_pushstring(L, msg);
  return 2;
}

/* core.fsync(file): a Lua file handle flushed and put on disk (a journal
 * line that must survive a power cut).  true, or nil and the reason. */
/* The FILE* of a Lua file handle argument; raises on a closed one. */
static FILE *check_stream(lua_State *L, int idx) {
  FILE *f;
#if LUA_VERSION_NUM >= 502
  luaL_Stream *p = (luaL_Stream *)luaL_checkudata(L, idx, LUA_FILEHANDLE);
  f = p->closef ? p->f : NULL;
#else
  FILE **p = (FILE **)luaL_checkudata(L, idx, LUA_FILEHANDLE);
  f = *p;
#endif
  if (!f) luaL_argerror(L, idx, "attempt to use a closed file");
  return f;
}

/* true, or nil and the system's reason (and the code) */
static int push_result(lua_State *L, int err) {
  char msg[256];
  if (err == 0) {
    lua_pushboolean(L, 1);
    return 1;
  }
  vn_strerror(err, msg, sizeof msg);
  lua_pushnil(L);
  lua_pushstring(L, msg);
  lua_pushinteger(L, err);
  return 3;
}

static int core_fsync(lua_State *L) { return push_result(L, vn_fsync(check_stream(L, 1))); }

/* core.lock(fh): an exclusive lock on the file, not waited for: true, or
 * nil, reason, code (code "busy" when another process holds it). */
static int core_lock(lua_State *L) {
  int err = vn_lock_file(check_stream(L, 1));
  if (err == EWOULDBLOCK) {
    lua_pushnil(L);
    lua_pushliteral(L, "locked by another process");
    lua_pushliteral(L, "busy");
    return 3;
  }
  return push_result(L, err);
}

/* core.create_private(path): creates path (0600) when missing. */
static int core_create_private(lua_State *L) { return push_result(L, vn_create_private(luaL_checkstring(L, 1))); }

/* core.json_decode(s): the value, or nil and "invalid JSON at byte N: why". */
static int core_json_decode(lua_State *L) {
  size_t n;
  const char *s = luaL_checklstring(L, 1, &n);
  char err[160];
  lua_settop(L, 1);
  if (vn_json_push(L, s, n, err, sizeof err)) return 1;
  lua_pushnil(L);
  lua_pushstring(L, err);
  return 2;
}

/* core.header_values(block, {name = kind}): what a transfer collects from
 * a header block, line by line as libcurl delivers them (for tests and
 * tools; a status line starts the collection over, as in a transfer).  The
 * names and values live in a userdata, so that a raise frees them. */
#define HV_BOX_MT "vinano.core.header_values"
typedef struct hv_box {
  vn_named_set set;
  vn_buffer vals;
} hv_box;

static int hv_box_gc(lua_State *L) {
  hv_box *b = (hv_box *)luaL_checkudata(L, 1, HV_BOX_MT);
  vn_named_free(&b->set);
  vn_buffer_free(&b->vals);
  return 0;
}

static int core_header_values(lua_State *L) {
  size_t n, i = 0;
  const char *s = luaL_checklstring(L, 1, &n);
  hv_box *b;
  luaL_checktype(L, 2, LUA_TTABLE);
  lua_settop(L, 2);
  b = (hv_box *)lua_newuserdatauv(L, sizeof *b, 0);
  memset(b, 0, sizeof *b);
  luaL_setmetatable(L, HV_BOX_MT);
  vn_named_read(L, 2, &b->set);
  while (i < n) {
    const char *nl = (const char *)memchr(s + i, '\n', n - i);
    size_t len = nl ? (size_t)(nl - (s + i)) + 1 : n - i;
    if (len >= 5 && memcmp(s + i, "HTTP/", 5) == 0) vn_buffer_reset(&b->vals);
    vn_named_line(&b->set, s + i, len, &b->vals);
    i += len;
  }
  vn_named_push(L, &b->vals);
  return 1;
}


int luaopen_vinano_core(lua_State *L) {
  static const luaL_Reg funcs[] = {{"curl", core_curl},   {"parse_url", core_parse_url}, {"now", core_now},
                                   {"sleep", core_sleep}, {"stat", core_stat},           {"readable", core_readable},
                                   {"new", vn_client_new}, {"wait", vn_client_wait},     {"fsync", core_fsync},
                                   {"lock", core_lock},   {"create_private", core_create_private},
                                   {"writable", core_writable},
                                   {"json_decode", core_json_decode}, {"header_values", core_header_values},

                                   {NULL, NULL}};
  static int curl_ready = 0;
  if (!curl_ready) {
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) return luaL_error(L, "vinano: curl_global_init failed");
    curl_ready = 1;
  }
  vn_client_register(L);
  vn_transfer_register(L);
  {
    static const luaL_Reg none[] = {{NULL, NULL}};
    static const luaL_Reg box_meta[] = {{"__gc", hv_box_gc}, {NULL, NULL}};
    vn_class_register(L, HV_BOX_MT, none, box_meta);
  }
  lua_newtable(L);
  luaL_setfuncs(L, funcs, 0);
  lua_pushliteral(L, VN_VERSION);
  lua_setfield(L, -2, "version");
  return 1;
}
